"""WhatsApp through 360dialog's Cloud API proxy: POST https://waba-v2.360dialog.io/messages with the
header `D360-API-KEY: <key>` and a Cloud API message body (docs.360dialog.com, "Send a Message").

Without a template configured, a text message {"type": "text", "text": {"body": ...}} is sent; it is
only delivered inside the 24-hour customer-service window. Business-initiated messages outside it
must be templates: set template_name (and template_language, default "en") to an approved template
whose body has exactly one parameter, {{1}}, which receives our rendered text. Meta refuses newlines,
tabs and more than four consecutive spaces in template parameters, so they are folded into spaces.

Success: 200 {"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid..."}]}.
Errors come in the Graph API shape {"error": {"message", "type", "code", "error_data", "fbtrace_id"}}
and are read by their code first (Meta recommends building on code, not HTTP status), then by HTTP
status: see CONFIG_CODES, PERMANENT_CODES, RATE_LIMIT_CODES and TRANSIENT_CODES. A 401 from
360dialog itself ("Invalid api_key", not Graph-shaped) is a configuration error.
"""
from __future__ import annotations

import re

from webapp.channels.providers import http_pool
from webapp.channels.providers.base import (
    ConfigField,
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    ProviderSpec,
    RateLimitedError,
    SendResult,
    TransientProviderError,
)
from webapp.channels.providers.dialog360_callbacks import Dialog360Callbacks

SPEC = ProviderSpec("360dialog", "360dialog (WhatsApp)", ("whatsapp",), (
    ConfigField("api_key", "D360 API key", secret=True),
    ConfigField("template_name", "Approved template with one body parameter (for business-initiated messages)",
                required=False),
    ConfigField("template_language", "Template language code (default en)", required=False),
    # 360dialog does not sign webhooks: it sends the headers set with the webhook URL, so the
    # merchant sets this token as the X-Webhook-Token header there (dialog360_callbacks.py).
    ConfigField("webhook_token", "Webhook token (sent by 360dialog as the X-Webhook-Token header)",
                secret=True, required=False),
), callbacks=Dialog360Callbacks())
DEFAULT_BASE = "https://waba-v2.360dialog.io"
LABEL = "360dialog"

# Meta Cloud API error codes (developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes).
# Nothing this one message can fix: token, permissions, account locked or unpaid, template missing or
# of another shape than configured. These fail over to the next provider.
CONFIG_CODES = {0, 3, 10, 190, 131031, 131042, 132000, 132001, 132012, 132015, 132016}
# This recipient or this message: invalid parameter, undeliverable, not in the test allow-list,
# outside the 24h window without a template, unsupported type.
PERMANENT_CODES = {100, 131008, 131009, 131021, 131026, 131030, 131047, 131051}
# Throughput (130429), spam rate limit (131048), business/consumer pair rate limit (131056), app limits.
RATE_LIMIT_CODES = {4, 80007, 130429, 131048, 131056}
# Unknown or temporary failures on Meta's side.
TRANSIENT_CODES = {1, 2, 131000, 131016, 133004}


class Dialog360Provider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.api_key = secrets.get("api_key", "")
        if not self.api_key:
            raise ProviderConfigError("360dialog needs an API key")
        self.template = (settings.get("template_name") or "").strip() or None
        self.language = (settings.get("template_language") or "").strip() or "en"
        self.url = http_pool.base(base_url, DEFAULT_BASE) + "/messages"

    def send(self, message: OutboundMessage) -> SendResult:
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual",
                   "to": http_pool.phone_digits(message.recipient, LABEL)}
        if self.template:
            parameter = re.sub(r" {4,}", "   ", re.sub(r"[\r\n\t]+", " ", message.body)).strip()
            payload.update({"type": "template", "template": {
                "name": self.template, "language": {"code": self.language},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": parameter}]}]}})
        else:
            payload.update({"type": "text", "text": {"body": message.body}})
        secrets = (self.api_key,)
        response = http_pool.post(LABEL, self.url, url_name="API base URL", json=payload,
                                  headers={"D360-API-KEY": self.api_key, "Accept": "application/json"})
        body = http_pool.json_body(response)
        body = body if isinstance(body, dict) else {}
        if 200 <= response.status_code < 300:
            messages = body.get("messages") if isinstance(body.get("messages"), list) else []
            # 2xx means Meta accepted it: never retried for want of an id (that would send twice).
            return SendResult(str(messages[0].get("id", "")) if messages and isinstance(messages[0], dict) else "")
        raise _classify(response, body, secrets)


def _classify(response, body: dict, secrets: tuple) -> Exception:
    error = body.get("error") if isinstance(body.get("error"), dict) else None
    if error is None:
        meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
        detail = meta.get("developer_message") or None
        return http_pool.refused(LABEL, response, detail, secrets)
    try:
        code = int(error.get("code"))
    except (TypeError, ValueError):
        code = None
    details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
    detail = f"code {code}: {error.get('message', '')}" + (f" ({details})" if details else "")
    why = http_pool.reason(LABEL, response.status_code, detail, secrets)
    if code in RATE_LIMIT_CODES:
        return RateLimitedError(why, http_pool.retry_after(response))
    if code in CONFIG_CODES or response.status_code == 401:
        return ProviderConfigError(why)
    if code in PERMANENT_CODES:
        return PermanentProviderError(why)
    if code in TRANSIENT_CODES:
        return TransientProviderError(why)
    return http_pool.refused(LABEL, response, detail, secrets)
