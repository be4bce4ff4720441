"""What a provider declares about the requests it sends back to us: how to verify one, and how to
turn it into delivery receipts and consent signals. Each provider module holds its own handler
(ProviderSpec.callbacks); one generic route (/callbacks/<provider>/<store>[/<kind>]) looks the
provider up, and webapp/pipeline/callbacks.py applies what the handler parsed.

Plain data and pure functions: a handler sees the request as an InboundRequest and the store's
accounts of that provider as Accounts, never Flask or the database, so it is tested on the
payloads the provider documents.
"""
from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from webapp import jsonbody
from webapp.consent import keywords
from webapp.runtime import RuntimeSettings

# Receipt outcomes (webapp/dispatch/receipts.py says what each does to a notification).
DELIVERED, UNDELIVERED, FAILED, DROPPED = "delivered", "undelivered", "failed", "dropped"
BOUNCED, COMPLAINED = "bounced", "complained"
OPENED, CLICKED, DEFERRED, BLOCKED, UNSUBSCRIBED = "opened", "clicked", "deferred", "blocked", "unsubscribed"
# A signed request older than this is refused, so a captured one cannot be replayed later.
MAX_AGE_SECONDS = 600


@dataclass(frozen=True)
class InboundRequest:
    """The HTTP request as the provider sent (and signed) it."""

    method: str
    url: str  # the full URL, query included, as the provider called it
    kind: str  # what follows the store in the path: "status", "inbound", "events", or ""
    headers: Mapping[str, str]  # keys lower-cased
    body: bytes = b""
    form: Mapping[str, str] = field(default_factory=dict)  # form fields (POST) or query parameters (GET)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON. Parsed once per request, however many
        times verification and parsing ask (treat it as read-only)."""
        return self._parsed[0]

    @property
    def json_error(self) -> jsonbody.JSONBodyError | None:
        """Why the body is not JSON (too deep, malformed), or None when it is."""
        return self._parsed[1]

    @cached_property
    def _parsed(self) -> tuple[Any, jsonbody.JSONBodyError | None]:
        try:
            return jsonbody.loads(self.body or b"null"), None
        except jsonbody.JSONBodyError as error:
            return None, error


@dataclass(frozen=True)
class Account:
    """One of the store's configured accounts of this provider: its settings and decrypted secrets."""

    settings: Mapping[str, Any]
    secrets: Mapping[str, str]

    def value(self, name: str) -> str:
        return str(self.secrets.get(name) or self.settings.get(name) or "")


@dataclass(frozen=True)
class CallbackContext:
    store_id: int
    store_name: str
    sms_help_text: str | None
    accounts: tuple[Account, ...]
    settings: RuntimeSettings


@dataclass(frozen=True)
class ReplayKey:
    """The provider's own id for an event (scope: which id space), kept so a replay changes nothing."""

    scope: str
    event_id: str


@dataclass(frozen=True)
class Receipt:
    provider_message_ids: tuple[str, ...]  # candidates (e.g. with and without angle brackets)
    outcome: str
    detail: str = ""
    notification_id: int | None = None  # the id the provider echoes back (batch sends share a message id)
    # The addresses the provider says bounced or complained: only the notification's own recipient
    # among them is suppressed. None: the notification's recipient.
    reported_recipients: tuple[str, ...] | None = None
    replay_key: ReplayKey | None = None


@dataclass(frozen=True)
class ConsentSignal:
    """An inbound message asking to stop, start again or for help."""

    channel: str
    address: str
    action: str  # consent.models OPT_OUT, OPT_IN or HELP
    keyword: str
    source: str  # shown in the consent history, e.g. "vonage inbound"
    replay_key: ReplayKey | None = None


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str | dict = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass(frozen=True)
class ParsedCallback:
    receipts: tuple[Receipt, ...] = ()
    consent: tuple[ConsentSignal, ...] = ()
    # Ids of the request as a whole: if any was seen before, nothing of it is applied again.
    replay_keys: tuple[ReplayKey, ...] = ()
    # What to answer; None: {"status": "updated"} when something changed, else {"status": "ignored"}.
    reply: Reply | None = None


class CallbackRejected(Exception):
    """A verified request that still must be refused (an SNS subscription to an unknown URL, say)."""

    def __init__(self, reason: str, reply: Reply | None = None):
        super().__init__(reason)
        self.reply = reply or Reply(403, {"status": "forbidden"})


class CallbackHandler(Protocol):
    kinds: tuple[str, ...]  # the path kinds it answers; "" is /callbacks/<provider>/<store> itself

    def verify(self, request: InboundRequest, context: CallbackContext) -> bool:
        """Whether the request is signed with one of the store's accounts' credentials."""

    def rejected(self, request: InboundRequest) -> Reply:
        """What an unverified request is answered."""

    def parse(self, request: InboundRequest, context: CallbackContext) -> ParsedCallback: ...


FORBIDDEN = Reply(403, {"status": "forbidden"})
IGNORED = Reply(200, {"status": "ignored"})


def fresh(timestamp: str | int | None, now: float | None = None) -> bool:
    """A Unix timestamp within MAX_AGE_SECONDS of now."""
    try:
        return abs((now or time.time()) - int(str(timestamp or ""))) <= MAX_AGE_SECONDS
    except ValueError:
        return False


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty expected value never matches."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def e164(number: str | None) -> str:
    """A provider's bare international number ("447700900123") as E.164 ("+447700900123")."""
    value = (number or "").strip()
    return value if not value or value.startswith("+") else f"+{value}"


def echoed_notification_id(value) -> int | None:
    """The notification id a provider echoes back (custom args, user variables), if plausible."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def keyword_signal(channel: str, sender: str | None, text: str | None, source: str,
                   message_id: str | None, scope: str) -> ConsentSignal | None:
    """The consent signal of an inbound text that is a STOP / START / HELP keyword, else None."""
    action, address = keywords.classify(text), e164(sender)
    if action is None or address in ("", "+"):
        return None
    return ConsentSignal(channel, address, action, keywords.keyword(text), source,
                         ReplayKey(scope, message_id) if message_id else None)
