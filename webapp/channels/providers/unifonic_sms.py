"""Unifonic SMS: POST https://el.cloud.unifonic.com/rest/SMS/messages, form-encoded AppSid,
SenderID (optional: the account's default sender is used without it), Recipient (digits, no "+"
or "00"), Body, CorrelationID (our notification id) and responseType=JSON.

Answer: {"success": true|"true", "message": "", "errorCode": "ER-00", "data": {"MessageID": ...}};
a rejected message has success false, a message and an errorCode (docs.unifonic.com/reference/sms-api,
"Understanding reasons of SMS non-delivery", and the REST API's HTTP status code list).

Mapped error codes: ER-01 (no rate found or insufficient funds) and ER-08 (invalid sender ID) are
account problems → ProviderConfigError; ER-02..ER-07 (invalid, too long or too short destination, no
route, empty body, filtered) and ER-09 (duplicate) → PermanentProviderError. Any other or unknown
code is treated as permanent. HTTP statuses: 401 authentication failed, 402 missing AppSid,
403 IP not allowed and 480 sender ID not allowed → config; 429 too many requests → rate limited;
5xx → transient; other 4xx → permanent.
"""
from __future__ import annotations

from webapp.channels.providers import http_pool
from webapp.channels.providers.base import (
    ConfigField,
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    ProviderSpec,
    SendResult,
)

SPEC = ProviderSpec("unifonic", "Unifonic", ("sms",), (
    ConfigField("app_sid", "AppSid", secret=True),
    ConfigField("sender_id", "Sender ID (the account default when empty)", required=False),
))
DEFAULT_BASE = "https://el.cloud.unifonic.com"
LABEL = "Unifonic"
CONFIG_CODES = {"ER-01", "ER-08"}
PERMANENT_CODES = {"ER-02", "ER-03", "ER-04", "ER-05", "ER-06", "ER-07", "ER-09"}
CONFIG_STATUSES = {401, 402, 403, 480}


class UnifonicProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.app_sid = secrets.get("app_sid", "")
        if not self.app_sid:
            raise ProviderConfigError("Unifonic needs an AppSid")
        self.sender_id = http_pool.sender_address(settings.get("sender_id") or "")
        self.url = http_pool.base(base_url, DEFAULT_BASE) + "/rest/SMS/messages"

    def send(self, message: OutboundMessage) -> SendResult:
        form = {"AppSid": self.app_sid, "Recipient": http_pool.phone_digits(message.recipient, LABEL),
                "Body": message.body, "CorrelationID": str(message.notification_id), "responseType": "JSON"}
        if self.sender_id:
            form["SenderID"] = self.sender_id
        secrets = (self.app_sid,)
        response = http_pool.post(LABEL, self.url, url_name="API base URL", data=form,
                                  headers={"Accept": "application/json"})
        body = http_pool.json_body(response)
        body = body if isinstance(body, dict) else {}
        code = str(body.get("errorCode") or "")
        status = response.status_code
        if 200 <= status < 300 and str(body.get("success")).lower() == "true":
            data = body.get("data") if isinstance(body.get("data"), dict) else {}
            return SendResult(str(data.get("MessageID", "")))
        detail = f"{code} {body.get('message') or ''}".strip() if body else response.text
        # Throttling, platform errors and authentication say more than the code that may come with them.
        if status == 429 or status >= 500:
            raise http_pool.refused(LABEL, response, detail, secrets)
        why = http_pool.reason(LABEL, status, detail, secrets)
        if status in CONFIG_STATUSES or code in CONFIG_CODES:
            raise ProviderConfigError(why)
        if code in PERMANENT_CODES or 200 <= status < 300:
            raise PermanentProviderError(why)  # success false with an unknown code: permanent too
        raise http_pool.refused(LABEL, response, detail, secrets)
