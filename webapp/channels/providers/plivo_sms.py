"""Plivo Message API: POST https://api.plivo.com/v1/Account/{auth_id}/Message/ with HTTP Basic
auth (Auth ID : Auth Token) and a JSON body {src or powerpack_uuid, dst, text, url, method}.

Accepted messages answer 202 {"api_id", "message": "message(s) queued", "message_uuid": [...]};
errors answer {"api_id", "error": "..."} with the documented statuses: 400 a parameter missing or
invalid (a bad 'dst' among them) → permanent, 401 authentication failed → config, 429 rate limited,
5xx → retry (see plivo.com/docs/messaging/api/response and /api/message).
"""
from __future__ import annotations

from urllib.parse import quote

from webapp.channels.providers import http_pool
from webapp.channels.providers.base import (
    ConfigField,
    OutboundMessage,
    ProviderConfigError,
    ProviderSpec,
    SendResult,
)
from webapp.channels.providers.plivo_callbacks import PlivoCallbacks

SPEC = ProviderSpec("plivo", "Plivo", ("sms",), (
    ConfigField("auth_id", "Auth ID"),
    ConfigField("auth_token", "Auth token", secret=True),
    ConfigField("from_number", "Sender: number in E.164 or sender ID (or a Powerpack below)", required=False),
    ConfigField("powerpack_uuid", "Powerpack UUID", required=False),
    ConfigField("status_callback_url", "Message status URL (default: this app's, from PUBLIC_BASE_URL)",
                required=False),
), status_callback_path="/callbacks/plivo/{store}/status", callbacks=PlivoCallbacks())
DEFAULT_BASE = "https://api.plivo.com"
LABEL = "Plivo"


class PlivoProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.auth_id = settings.get("auth_id", "")
        self.auth_token = secrets.get("auth_token", "")
        if not self.auth_id or not self.auth_token:
            raise ProviderConfigError("Plivo needs an Auth ID and an Auth token")
        self.sender = http_pool.sender_address(settings.get("from_number") or "")
        self.powerpack = settings.get("powerpack_uuid")
        if not (self.sender or self.powerpack):
            raise ProviderConfigError("Plivo needs a sender number or a Powerpack UUID")
        self.callback = settings.get("status_callback_url")
        self.url = f"{http_pool.base(base_url, DEFAULT_BASE)}/v1/Account/{quote(self.auth_id, safe='')}/Message/"

    def send(self, message: OutboundMessage) -> SendResult:
        # dst as bare digits: Plivo reads "<" as a separator between several recipients, so nothing
        # but digits may reach it from a customer's address.
        payload = {"dst": http_pool.phone_digits(message.recipient, LABEL), "text": message.body}
        payload.update({"powerpack_uuid": self.powerpack} if self.powerpack and not self.sender
                       else {"src": self.sender})
        if self.callback:
            payload.update({"url": self.callback, "method": "POST"})
        secrets = (self.auth_token,)
        response = http_pool.post(LABEL, self.url, url_name="API base URL", json=payload,
                                  auth=(self.auth_id, self.auth_token), headers={"Accept": "application/json"})
        body = http_pool.json_body(response)
        if not 200 <= response.status_code < 300:
            detail = body.get("error") if isinstance(body, dict) and body.get("error") else None
            raise http_pool.refused(LABEL, response, str(detail) if detail else None, secrets)
        body = body if isinstance(body, dict) else {}
        uuids = body.get("message_uuid") or [body.get("api_id") or ""]
        # A long text may be split into several messages, one uuid each; the first identifies the send.
        # A 2xx means queued: never retried, even when the answer lacks the uuid (that would send twice).
        return SendResult(str(uuids[0] if isinstance(uuids, list) else uuids))
