"""SendGrid email through the official SDK: v3 POST /mail/send.

The SDK client sends through sendgrid_transport's pooled httpx client, so consecutive sends reuse a
keep-alive connection instead of a TCP and TLS handshake each.

Batch sending (max_batch 1000, SendGrid's personalizations limit per request): messages with the same
subject and body go as one /v3/mail/send with one personalization per message, each carrying its own
`notification_id` custom arg (echoed in Event Webhook events). SendGrid accepts or refuses a request as
a whole, so a request's X-Message-Id (or its error) is the outcome of every message in it.
"""
from __future__ import annotations

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Email, Header, Mail, Personalization

from webapp.channels.providers import sendgrid_transport
from webapp.channels.providers.base import (
    BatchOutcome,
    ConfigField,
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    ProviderSpec,
    RateLimitedError,
    SendResult,
    TransientProviderError,
)
from webapp.channels.providers.batching import send_grouped
from webapp.channels.providers.sendgrid_callbacks import SendGridCallbacks

SPEC = ProviderSpec("sendgrid", "SendGrid", ("email",), (
    ConfigField("api_key", "API key", secret=True),
    ConfigField("from_email", "Sender address"),
    ConfigField("from_name", "Sender name", required=False),
    ConfigField("event_webhook_public_key", "Event Webhook verification key", required=False),
), max_batch=1000, callbacks=SendGridCallbacks())
DEFAULT_HOST = "https://api.sendgrid.com"
BATCH_LIMIT = 1000  # personalizations per /v3/mail/send request


class SendGridProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        if not secrets.get("api_key") or not settings.get("from_email"):
            raise ProviderConfigError("SendGrid needs an API key and a sender address")
        self.from_email = (settings["from_email"], settings.get("from_name")) if settings.get("from_name") \
            else settings["from_email"]
        # EU accounts use https://api.eu.sendgrid.com; tests point it at a local server.
        self.client = sendgrid_transport.pooled(
            SendGridAPIClient(api_key=secrets["api_key"], host=(base_url or DEFAULT_HOST).rstrip("/")))

    def send(self, message: OutboundMessage) -> SendResult:
        mail = Mail(from_email=self.from_email, to_emails=message.recipient, subject=message.subject or "",
                    plain_text_content=message.text, html_content=message.body)
        # Comes back on every Event Webhook event, so callbacks find the notification.
        mail.add_custom_arg(CustomArg("notification_id", str(message.notification_id)))
        _add_headers(mail, message)
        return self._send(mail)

    def send_batch(self, messages: list[OutboundMessage]) -> list[BatchOutcome]:
        return send_grouped(messages, BATCH_LIMIT, self._send_group)

    def _send_group(self, group: list[OutboundMessage]) -> SendResult:
        first = group[0]
        mail = Mail(from_email=self.from_email, subject=first.subject or "", plain_text_content=first.text,
                    html_content=first.body)
        for position, message in enumerate(group):
            personalization = Personalization()
            personalization.add_to(Email(message.recipient))
            personalization.add_custom_arg(CustomArg("notification_id", str(message.notification_id)))
            mail.add_personalization(personalization, index=position)  # the SDK inserts at index 0 otherwise
        _add_headers(mail, first)  # a group shares its headers (batching groups by them)
        return self._send(mail)

    def _send(self, mail: Mail) -> SendResult:
        try:
            response = self.client.send(mail)
        except HTTPError as error:
            raise _classify(error) from error
        except OSError as error:
            raise TransientProviderError(f"SendGrid unreachable: {error}") from error
        return SendResult(_header(response, "X-Message-Id") or "")


def _add_headers(mail: Mail, message: OutboundMessage) -> None:
    for name, value in (message.headers or {}).items():
        mail.add_header(Header(name, value))


def _header(response, name: str) -> str | None:
    headers = getattr(response, "headers", None) or {}
    return headers.get(name) if hasattr(headers, "get") else None


def _classify(error: HTTPError) -> Exception:
    status = getattr(error, "status_code", 0)
    body = getattr(error, "body", b"")
    reason = f"HTTP {status}: {body.decode(errors='replace')[:300] if isinstance(body, bytes) else body}"
    if status == 429:
        retry_after = (getattr(error, "headers", None) or {}).get("Retry-After")
        return RateLimitedError(reason, float(retry_after) if retry_after and retry_after.isdigit() else None)
    if status >= 500:
        return TransientProviderError(reason)
    if status in (401, 403):
        return ProviderConfigError(reason)
    return PermanentProviderError(reason)
