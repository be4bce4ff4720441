"""The provider interface: send one message, return the provider's id or raise a typed error.

The error type decides what delivery does next: retry later (transient, rate limited), give up
on this message (permanent), or move on to the next provider (config/auth).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from webapp.channels.providers.callbacks import CallbackHandler


@dataclass(frozen=True)
class OutboundMessage:
    notification_id: int
    store_id: int
    channel: str
    recipient: str
    subject: str | None
    body: str
    idempotency_key: str
    text: str | None = None  # email: the plain-text part (providers send it beside the HTML)
    link: str | None = None  # push and in-app: where tapping the message leads
    # Extra headers, email only: List-Unsubscribe and List-Unsubscribe-Post on marketing (RFC 8058).
    headers: Mapping[str, str] | None = None
    # Campaign email: {token: value} turning the campaign's shared rendering into this message (its
    # subject, body, text and headers stay final); batch APIs send that rendering once per request.
    substitutions: Mapping[str, str] | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


class ProviderError(Exception):
    """Base of every provider failure; str() is the provider's reason, shown to the merchant."""


class TransientProviderError(ProviderError):
    """Timeouts, 5xx: try again later."""


class RateLimitedError(TransientProviderError):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentProviderError(ProviderError):
    """Invalid recipient, rejected content: retrying cannot help."""


class RecipientGone(PermanentProviderError):
    """The address no longer exists (an uninstalled app's push token): stop using it."""


class ProviderConfigError(ProviderError):
    """Bad credentials or settings: this provider cannot send anything; fail over."""


class RecipientNotServed(ProviderError):
    """This provider cannot address this recipient (an APNs token given to FCM, say): try the next
    provider without counting it against this one's health."""


@dataclass(frozen=True)
class ConfigField:
    name: str
    label: str
    secret: bool = False
    required: bool = True
    # What the server connects to through this field, checked when settings are saved in production
    # (every connection is checked again when made, see webapp/channels/egress.py): "url" or "host"
    # (the value itself), "key_file" (a JSON key file: every http(s) URL in it, such as a service
    # account's token_uri), or None when the field is not a destination.
    connects_to: str | None = None

    def destinations(self, value: str | None) -> list[str]:
        if not value or self.connects_to is None:
            return []
        if self.connects_to != "key_file":
            return [value]
        try:
            document = json.loads(value)
        except ValueError:
            return []  # not JSON: the provider refuses it when it is built
        return [v for v in _strings(document) if v.lower().startswith(("http://", "https://"))]


def _strings(document) -> list[str]:
    if isinstance(document, dict):
        return [s for value in document.values() for s in _strings(value)]
    if isinstance(document, list):
        return [s for value in document for s in _strings(value)]
    return [document] if isinstance(document, str) else []


@dataclass(frozen=True)
class ProviderSpec:
    code: str
    label: str
    channels: tuple[str, ...]
    fields: tuple[ConfigField, ...] = field(default_factory=tuple)
    # How many messages one send_batch call may carry; 1 means the provider has no batch API.
    max_batch: int = 1
    # This app's receipt endpoint for the provider, e.g. "/callbacks/twilio/{store}/status": filled
    # into the `status_callback_url` setting (from PUBLIC_BASE_URL) when the merchant left it empty.
    status_callback_path: str | None = None
    # How the provider's requests to us (receipts, inbound messages) are verified and read; None
    # when it sends none. Served at /callbacks/<code>/<store>[/<kind>] (webapp/views/callbacks.py).
    callbacks: CallbackHandler | None = None
    # Whether the provider drops a message whose idempotency key it already accepted, so a resend
    # after a worker was killed mid-call cannot reach the customer twice.
    deduplicates: bool = False


# One outcome per message of a batch, in the order given: the provider's id or why it failed.
BatchOutcome = SendResult | ProviderError


class Provider(Protocol):
    """Constructed as cls(settings=dict, secrets=dict, base_url=str | None); raises
    ProviderConfigError when the settings cannot work."""

    spec: ProviderSpec

    def send(self, message: OutboundMessage) -> SendResult: ...

    # Optional, only when spec.max_batch > 1:
    # def send_batch(self, messages: list[OutboundMessage]) -> list[BatchOutcome]: ...
