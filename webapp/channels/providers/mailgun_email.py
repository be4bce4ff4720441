"""Mailgun email: POST {base}/v3/{domain}/messages, HTTP Basic `api:<api_key>`, form-encoded.

Fields sent: from, to, subject, html and `v:notification_id` (a custom variable Mailgun echoes in
every webhook event, so callbacks find the notification). The answer is 200
{"id": "<…@domain>", "message": "Queued. Thank you."}; the id (angle brackets included, as Mailgun
reports it in events) is the provider message id.

Errors: 401 (wrong key) and 404 (unknown sending domain, wrong region) fail over as configuration;
400 (bad address, missing field) rejects this message; 429 is rate limited (Retry-After); 5xx and
failed connections are transient. EU-region domains use https://api.eu.mailgun.net as base URL.

Batch sending: messages with the same template (batching.py: a campaign's content with `[[nh:name]]`
tokens where each recipient's values go) and the same final headers go as one request with a `to` per
recipient and `recipient-variables` ({address: {"name": value, ..., "notification_id": id}}): the
template's tokens become `%recipient.name%` in the subject, HTML and text, and `v:notification_id` is
"%recipient.notification_id%". Mailgun then sends one copy per recipient (no recipient sees the
others) and each copy's events carry its own notification id. Mailgun documents recipient variables
in the subject and body, not in custom `h:` headers, so a request shares its headers: campaign mail
with a List-Unsubscribe link per recipient goes one request each. A message whose content already
holds "%recipient" (Mailgun would read it as a variable) or whose token is named notification_id goes
alone, as it is. One request's outcome (its id or its error) applies to every message of its group. An
address appears at most once per request, since recipient variables are keyed by address; repeats go
in a further request.
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
from webapp.channels.providers.batching import TOKEN, GroupingRules, Template, send_grouped, tokens
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
ID_VARIABLE = "notification_id"  # the recipient variable carrying each copy's notification id


def _expressible(message: OutboundMessage) -> bool:
    """Whether Mailgun would give this message back exactly from a shared template."""
    texts = (message.subject or "", message.body, message.text or "", *(message.headers or {}).values())
    return f"[[nh:{ID_VARIABLE}]]" not in (message.substitutions or {}) \
        and not any("%recipient" in text for text in texts)


# Headers are not per recipient: a request shares its headers, so only equal final headers group.
BATCH_RULES = GroupingRules(BATCH_LIMIT, per_recipient_headers=False, expressible=_expressible)


class MailgunProvider:
    spec = SPEC
    batch_rules = BATCH_RULES

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
        return send_grouped(messages, BATCH_RULES, self._send_group)

    def _send_group(self, group: list[OutboundMessage], template: Template | None) -> SendResult:
        first = group[0]
        if template is None:  # a message of its own: its final content
            return self._post({"from": self.from_email, "to": first.recipient, "subject": first.subject or "",
                               "html": first.body, **_text(first), **_headers(first),
                               "v:notification_id": str(first.notification_id)})
        used = tokens(template.subject) | tokens(template.body) | tokens(template.text or "")
        # One request, one message per recipient: recipient-variables give each its values and notification id.
        return self._post({"from": self.from_email, "to": [m.recipient for m in group],
                           "subject": _variables(template.subject), "html": _variables(template.body),
                           **({"text": _variables(template.text)} if template.text else {}), **_headers(first),
                           "recipient-variables": json.dumps({m.recipient: _recipient_variables(m, used)
                                                              for m in group}, separators=(",", ":")),
                           "v:notification_id": f"%recipient.{ID_VARIABLE}%"})

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


def _variables(text: str) -> str:
    """A template's tokens as Mailgun's recipient variables: [[nh:name]] → %recipient.name%."""
    return TOKEN.sub(lambda match: f"%recipient.{match.group(1)}%", text)


def _recipient_variables(message: OutboundMessage, used: set[str]) -> dict[str, str]:
    values = {TOKEN.fullmatch(token).group(1): message.substitutions[token] for token in sorted(used)}
    return {**values, ID_VARIABLE: str(message.notification_id)}


def _headers(message: OutboundMessage) -> dict:
    """Mailgun takes custom MIME headers as h:<Name> fields."""
    return {f"h:{name}": value for name, value in (message.headers or {}).items()}


def _text(message: OutboundMessage) -> dict:
    """Mailgun's `text` field: the plain-text part, when the message has one."""
    return {"text": message.text} if message.text else {}
