"""What the plain-HTTP provider adapters share: the process's one pooled httpx client, POST helpers
whose transport failures become provider errors, reading of answers (JSON bodies, Retry-After, the
default status classification, reasons with secrets masked), and the small checks and text helpers
several adapters need (phone numbers, sender IDs, webhook URLs, alert titles, length limits).

Used by the SMS/WhatsApp adapters (Vonage, Plivo, Unifonic, 360dialog), the ops chat adapters (Slack,
Teams, Discord, Google Chat, Telegram, PagerDuty) and the generic outgoing webhook.

Every reason built here may be shown to the merchant and written to logs. Several adapters carry
credentials in the URL itself (webhook URLs, Telegram's /bot<token>/ path) and httpx's exception text
includes the URL, so no reason quotes an exception or a URL, and exceptions are raised `from None` so a
logged traceback does not carry the httpx error either. Callers pass their secrets to `reason`, which
masks them in case a provider echoes a credential back.
"""
from __future__ import annotations

import email.utils
import json
import re
import time
import unicodedata
from collections.abc import Collection, Iterable
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import httpx

from webapp.channels import egress
from webapp.channels.providers.base import (
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
)

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
LIMITS = httpx.Limits(max_keepalive_connections=20, max_connections=50)
MAX_REASON = 300
ELLIPSIS = "…"
# 401/403: credentials; 402: account out of credit; 404: the send endpoint itself is not there, so
# the base URL or account id is wrong. None of these is about one message: fail over.
CONFIG_STATUSES = frozenset({401, 402, 403, 404})
# For chat services whose URL is itself the configuration (Slack, incoming webhooks): also 410 (the
# webhook or channel was deleted) and any 3xx (redirects are not followed: the URL points elsewhere).
GONE_STATUSES = frozenset({401, 403, 404, 410, *range(300, 400)})


# --- the pooled client and POSTs -------------------------------------------------------------------

@lru_cache(maxsize=1)
def client() -> httpx.Client:
    # One client per process for every adapter, so messages to the same host reuse a keep-alive
    # HTTP/1.1 connection instead of a TLS handshake each; every connection passes the egress gate.
    return egress.http_client(timeout=TIMEOUT, limits=LIMITS)


def post(label: str, url: str, *, url_name: str = "configured URL", **kwargs) -> httpx.Response:
    """POST through the pooled client. A timeout or failed connection becomes TransientProviderError;
    a URL httpx cannot use (called `url_name` in the reason) a ProviderConfigError, since retrying it
    could never help."""
    try:
        return client().post(url, **kwargs)
    except httpx.TimeoutException as error:
        raise TransientProviderError(f"{label}: timed out ({type(error).__name__})") from None
    except httpx.UnsupportedProtocol:
        raise ProviderConfigError(f"{label}: the {url_name} has an unsupported scheme") from None
    except httpx.TransportError as error:
        raise TransientProviderError(f"{label}: connection failed ({type(error).__name__})") from None
    except httpx.InvalidURL:
        raise ProviderConfigError(f"{label}: the {url_name} is not valid") from None


def post_json(label: str, url: str, payload: dict, *, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> httpx.Response:
    """POST `payload` as compact UTF-8 JSON (see `post` for the errors)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return post(label, url, content=body, headers={"Content-Type": content_type, **(headers or {})})


# --- reading answers ---------------------------------------------------------------------------------

def json_body(response: httpx.Response):
    try:
        return response.json()
    except ValueError:
        return None


def seconds(value) -> float | None:
    """A delay in seconds given as a number or numeric string (never negative), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds, given as delta-seconds or as an HTTP date (RFC 9110 §10.2.3)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    delay = seconds(value)
    if delay is not None:
        return delay
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:  # shorter values would mask ordinary words
            text = text.replace(secret, "****")
    return text


def reason(label: str, status: int, detail: str, secrets: Iterable[str | None] = ()) -> str:
    detail = " ".join(str(detail).split())  # one line: bodies can be multi-line HTML error pages
    # Masked before it is cut, so a secret straddling the cut cannot leave a readable part behind.
    return redact(f"{label} HTTP {status}: {detail}", secrets)[:MAX_REASON]


def classify(status: int, why: str, retry: float | None = None, *, config: bool = False,
             config_statuses: Collection[int] = CONFIG_STATUSES) -> ProviderError:
    """The default reading of a refused send: 429 is rate limited (`retry` seconds), 5xx transient,
    `config_statuses` (or `config`, when the answer says the configuration is wrong) fail over to the
    next provider, and anything else rejects this message."""
    if status == 429:
        return RateLimitedError(why, retry)
    if status >= 500:
        return TransientProviderError(why)
    if config or status in config_statuses:
        return ProviderConfigError(why)
    return PermanentProviderError(why)


def refused(label: str, response: httpx.Response, detail: str | None = None, secrets: Iterable[str | None] = (),
            **options) -> ProviderError:
    """`classify` for a non-2xx answer, its reason built from `detail` (else the body) and its wait
    from Retry-After. `options` are classify's `config` and `config_statuses`."""
    why = reason(label, response.status_code, response.text if detail is None else detail, secrets)
    return classify(response.status_code, why, retry_after(response), **options)


# --- configuration and addresses -------------------------------------------------------------------

def base(base_url: str | None, default: str) -> str:
    return (base_url or default).rstrip("/")


def webhook_url(label: str, url: str | None, base_url: str | None = None, *,
                hosts: tuple[str, ...] = (), path_prefix: str = "") -> str:
    """Check a configured webhook URL and give the URL to POST to.

    The URL must be https (http only for localhost); when `hosts` is given its host must be one of
    them (or a subdomain) and its path start with `path_prefix`. A base URL, when given, replaces the
    URL's scheme and host (a relay, or a local test server) and keeps its path and query. Reasons
    never quote the URL: it is the credential.
    """
    url = (url or "").strip()
    if not url:
        raise ProviderConfigError(f"{label}: no webhook URL configured")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ProviderConfigError(f"{label}: the webhook URL is not a valid URL") from None
    if parts.scheme != "https" and not (parts.scheme == "http" and host in ("localhost", "127.0.0.1")):
        raise ProviderConfigError(f"{label}: the webhook URL must start with https://")
    if hosts and not any(host == h or host.endswith("." + h) for h in hosts):
        raise ProviderConfigError(f"{label}: the webhook URL is not a {label} webhook (expected a {hosts[0]} URL)")
    if path_prefix and not parts.path.startswith(path_prefix):
        raise ProviderConfigError(f"{label}: the webhook URL is not a {label} webhook (its path should start "
                                  f"with {path_prefix})")
    if base_url:
        relay = urlsplit(base_url.rstrip("/"))
        return urlunsplit((relay.scheme, relay.netloc, relay.path + parts.path, parts.query, ""))
    return url


def phone_digits(recipient: str, label: str) -> str:
    """E.164 ("+16135550142", optionally "whatsapp:"-prefixed) as the bare digits SMS APIs want.

    Anything that is not 8 to 15 digits once spaces, dashes and brackets are dropped is rejected
    here as permanent, so a malformed address never reaches (or is split by) the provider's API.
    """
    value = recipient.strip()
    if value.lower().startswith("whatsapp:"):
        value = value[len("whatsapp:"):]
    value = re.sub(r"[\s().-]", "", value)
    if value.startswith("00"):
        value = value[2:]
    value = value.removeprefix("+")
    if not value.isdigit() or not 8 <= len(value) <= 15 or not value.isascii():
        raise PermanentProviderError(f"{label}: “{recipient[:40]}” is not an international phone number")
    return value


def sender_address(sender: str) -> str:
    """A sender number loses its "+"; an alphanumeric sender ID is passed as configured."""
    value = sender.strip()
    return value[1:] if value.startswith("+") and value[1:].isdigit() else value


# --- alert text ------------------------------------------------------------------------------------

def title_and_body(message: OutboundMessage) -> tuple[str, str]:
    """An ops alert's title (the subject, else the body's first line) and its body."""
    body = (message.body or "").strip()
    title = (message.subject or "").strip()
    if not title:
        first, _, rest = body.partition("\n")
        title, body = first.strip(), rest.strip()
    return title, body


def truncate(text: str, limit: int, *, utf16: bool = False) -> str:
    """`text` cut to at most `limit` characters (UTF-16 code units when `utf16`, as JavaScript-based
    services count), ending in "…" when cut. A cut never splits a surrogate pair and never leaves a
    dangling combining mark, variation selector or zero-width joiner at the end."""
    def size(value: str) -> int:
        return len(value.encode("utf-16-le")) // 2 if utf16 else len(value)

    if size(text) <= limit:
        return text
    end = min(len(text), limit - 1)
    while end and size(text[:end]) > limit - 1:
        end -= 1
    # Move the cut back while it falls inside a character sequence: before a combining mark or a
    # variation selector, or on either side of a zero-width joiner (emoji sequences).
    while end and (unicodedata.combining(text[end]) or text[end] in "\u200d\ufe0e\ufe0f"
                   or text[end - 1] == "\u200d"):
        end -= 1
    return text[:end].rstrip() + ELLIPSIS
