"""Mailgun email: POST {base}/v3/{domain}/messages, HTTP Basic `api:<api_key>`, form-encoded.

Fields sent: from, to, subject, html and `v:notification_id` (a custom variable Mailgun echoes in
every webhook event, so callbacks find the notification). The answer is 200
{"id": "<…@domain>", "message": "Queued. Thank you."}; the id (angle brackets included, as Mailgun
reports it in events) is the provider message id.

Errors: 401 (wrong key) and 404 (unknown sending domain, wrong region) fail over as configuration;
400 (bad address, missing field) rejects this message; 429 is rate limited (Retry-After); 5xx and
failed connections are transient. EU-region domains use https://api.eu.mailgun.net as base URL.

Batch sending: messages with the same subject and body go as one request with a `to` per recipient
and `recipient-variables` ({address: {"notification_id": id}}), `v:notification_id` being the
template "%recipient.notification_id%". Mailgun then sends one copy per recipient (no recipient sees
the others) and each copy's events carry its own notification id. One request's outcome (its id or
its error) applies to every message of its group. An address appears at most once per request,
since recipient variables are keyed by address; repeats go in a further request.
"""
from __future__ import annotations

import json

from webapp.channels.providers import http_pool
from webapp.channels.providers.base import (
    BatchOutcome,
    ConfigField,
    OutboundMessage,
    ProviderConfigError,
    ProviderSpec,
    SendResult,
    TransientProviderError,
)
from webapp.channels.providers.batching import send_grouped
from webapp.channels.providers.mailgun_callbacks import MailgunCallbacks

SPEC = ProviderSpec("mailgun", "Mailgun", ("email",), (
    ConfigField("domain", "Sending domain"),
    ConfigField("api_key", "API key", secret=True),
    ConfigField("from_email", "Sender address"),
    ConfigField("webhook_signing_key", "Webhook signing key", secret=True, required=False),
), max_batch=1000, callbacks=MailgunCallbacks())
DEFAULT_BASE = "https://api.mailgun.net"
LABEL = "Mailgun"
BATCH_LIMIT = 1000  # Mailgun's maximum number of recipients per batch-sending request


class MailgunProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.domain = (settings.get("domain") or "").strip()
        self.api_key = secrets.get("api_key") or ""
        self.from_email = (settings.get("from_email") or "").strip()
        if not (self.domain and self.api_key and self.from_email):
            raise ProviderConfigError("Mailgun needs a sending domain, an API key and a sender address")
        if "/" in self.domain or any(c.isspace() for c in self.domain):
            raise ProviderConfigError("Mailgun: the sending domain is not a domain name")
        self.url = f"{http_pool.base(base_url, DEFAULT_BASE)}/v3/{self.domain}/messages"

    def send(self, message: OutboundMessage) -> SendResult:
        return self._post({"from": self.from_email, "to": message.recipient, "subject": message.subject or "",
                           "html": message.body, **_text(message), **_headers(message),
                           "v:notification_id": str(message.notification_id)})

    def send_batch(self, messages: list[OutboundMessage]) -> list[BatchOutcome]:
        return send_grouped(messages, BATCH_LIMIT, self._send_group)

    def _send_group(self, group: list[OutboundMessage]) -> SendResult:
        first = group[0]
        if len(group) == 1:
            return self._post({"from": self.from_email, "to": first.recipient, "subject": first.subject or "",
                               "html": first.body, **_text(first), **_headers(first),
                               "v:notification_id": str(first.notification_id)})
        # One request, one message per recipient: recipient-variables give each its own notification id.
        return self._post({"from": self.from_email, "to": [m.recipient for m in group],
                           "subject": first.subject or "", "html": first.body, **_text(first), **_headers(first),
                           "recipient-variables": json.dumps(
                               {m.recipient: {"notification_id": str(m.notification_id)} for m in group},
                               separators=(",", ":")),
                           "v:notification_id": "%recipient.notification_id%"})

    def _post(self, form: dict) -> SendResult:
        secrets = (self.api_key,)
        response = http_pool.post(LABEL, self.url, url_name="API base URL", data=form, auth=("api", self.api_key),
                                  headers={"Accept": "application/json"})
        body = http_pool.json_body(response)
        if not 200 <= response.status_code < 300:
            detail = body.get("message") if isinstance(body, dict) and body.get("message") else None
            raise http_pool.refused(LABEL, response, detail, secrets=secrets)
        message_id = body.get("id") if isinstance(body, dict) else None
        if not message_id:
            raise TransientProviderError(http_pool.reason(LABEL, response.status_code, "unexpected answer", secrets))
        return SendResult(str(message_id))


def _headers(message: OutboundMessage) -> dict:
    """Mailgun takes custom MIME headers as h:<Name> fields."""
    return {f"h:{name}": value for name, value in (message.headers or {}).items()}


def _text(message: OutboundMessage) -> dict:
    """Mailgun's `text` field: the plain-text part, when the message has one."""
    return {"text": message.text} if message.text else {}
