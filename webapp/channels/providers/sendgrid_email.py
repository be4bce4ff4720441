"""SendGrid email through the official SDK: v3 POST /mail/send.

The SDK client sends through sendgrid_transport's pooled httpx client, so consecutive sends reuse a
keep-alive connection instead of a TCP and TLS handshake each.

Batch sending (max_batch 1000, SendGrid's personalizations limit per request): messages with the same
template (batching.py: a campaign's content with `[[nh:name]]` tokens where each recipient's values go)
go as one /v3/mail/send carrying the template, with one personalization per message: its `to`, its
`notification_id` custom arg (echoed in Event Webhook events), its substitutions (token → value, which
SendGrid applies to the subject and the text and HTML content) and the headers whose value differs
within the request (a List-Unsubscribe link per recipient; substitutions do not reach headers). A
message whose substitutions exceed the documented 10,000 bytes per personalization goes alone, as it
is. SendGrid accepts or refuses a request as a whole, so a request's X-Message-Id (or its error) is the
outcome of every message in it.
"""
from __future__ import annotations

import json

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Email, Header, Mail, Personalization, Substitution

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
from webapp.channels.providers.batching import GroupingRules, Template, send_grouped, tokens
from webapp.channels.providers.sendgrid_callbacks import SendGridCallbacks

SPEC = ProviderSpec("sendgrid", "SendGrid", ("email",), (
    ConfigField("api_key", "API key", secret=True),
    ConfigField("from_email", "Sender address"),
    ConfigField("from_name", "Sender name", required=False),
    ConfigField("event_webhook_public_key", "Event Webhook verification key", required=False),
), max_batch=1000, callbacks=SendGridCallbacks())
DEFAULT_HOST = "https://api.sendgrid.com"
BATCH_LIMIT = 1000  # personalizations per /v3/mail/send request
SUBSTITUTION_BYTES = 10_000  # "total collective size of your substitutions" per personalization


def _expressible(message: OutboundMessage) -> bool:
    """Whether the message's substitutions fit one personalization (counted as the JSON sent)."""
    return not message.substitutions or len(json.dumps(dict(message.substitutions))) <= SUBSTITUTION_BYTES


BATCH_RULES = GroupingRules(BATCH_LIMIT, per_recipient_headers=True, expressible=_expressible)


class SendGridProvider:
    spec = SPEC
    batch_rules = BATCH_RULES

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
        return send_grouped(messages, BATCH_RULES, self._send_group)

    def _send_group(self, group: list[OutboundMessage], template: Template | None) -> SendResult:
        """One request: the template once (or a lone message's own content), a personalization each."""
        first = group[0]
        content = template or Template(first.subject or "", first.body, first.text, ())
        mail = Mail(from_email=self.from_email, subject=content.subject, plain_text_content=content.text,
                    html_content=content.body)
        shared = _shared_headers(group)
        used = (tokens(content.subject) | tokens(content.body) | tokens(content.text or "")) if template else set()
        for position, message in enumerate(group):
            # At its position: the SDK inserts at index 0 otherwise.
            mail.add_personalization(_personalization(message, used, shared), index=position)
        for name, value in shared.items():
            mail.add_header(Header(name, value))
        return self._send(mail)

    def _send(self, mail: Mail) -> SendResult:
        try:
            response = self.client.send(mail)
        except HTTPError as error:
            raise _classify(error) from error
        except OSError as error:
            raise TransientProviderError(f"SendGrid unreachable: {error}") from error
        return SendResult(_header(response, "X-Message-Id") or "")


def _personalization(message: OutboundMessage, used: set[str], shared: dict[str, str]) -> Personalization:
    personalization = Personalization()
    personalization.add_to(Email(message.recipient))
    personalization.add_custom_arg(CustomArg("notification_id", str(message.notification_id)))
    for token in sorted(used):  # only the tokens the template holds: the size limit counts the rest too
        personalization.add_substitution(Substitution(token, message.substitutions[token]))
    for name, value in (message.headers or {}).items():
        if name not in shared:
            personalization.add_header(Header(name, value))
    return personalization


def _shared_headers(group: list[OutboundMessage]) -> dict[str, str]:
    """Headers every message of the request has with the same value: sent once, on the mail."""
    first = dict(group[0].headers or {})
    return {name: value for name, value in first.items()
            if all((message.headers or {}).get(name) == value for message in group[1:])}


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
