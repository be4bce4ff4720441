"""Generic outgoing webhook: POSTs each message as JSON to the merchant's URL, signed.

Signature header, for receivers: `X-NotifyHub-Signature: t=<unix seconds>,v1=<hex>` where hex is
HMAC-SHA256(secret, "<t>.<raw body>"). Receivers should reject timestamps older than 5 minutes.
`Idempotency-Key` carries the notification's key; a receiver that has seen it should answer the
same id. Answers: 2xx with {"id": "..."}; 429 (Retry-After honoured) and 5xx are retried; 401/403
mean the configuration is wrong; other 4xx reject the message.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from webapp.channels.providers.base import ConfigField, OutboundMessage, ProviderConfigError, ProviderSpec, SendResult
from webapp.channels.providers.http_pool import post, refused

SPEC = ProviderSpec("webhook", "Outgoing webhook (HMAC-signed JSON)", ("email", "sms", "whatsapp", "push", "ops"),
                    (ConfigField("url", "Endpoint URL (or give it as the base URL)", required=False, connects_to="url"),
                     ConfigField("signing_secret", "Signing secret", secret=True)), deduplicates=True)
LABEL = "Webhook"
# Only these two mean the receiver refuses our configuration (URL or signing secret).
CONFIG_STATUSES = (401, 403)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.url = base_url or settings.get("url")
        self.secret = secrets.get("signing_secret", "")
        if not self.url:
            raise ProviderConfigError("webhook provider has no URL configured")

    def send(self, message: OutboundMessage) -> SendResult:
        body = json.dumps({"channel": message.channel, "to": message.recipient, "subject": message.subject,
                           "body": message.body, "notification_id": message.notification_id},
                          separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key,
                   "X-NotifyHub-Signature": sign(self.secret, int(time.time()), body)}
        # The merchant's URL may carry a token, so failures name neither it nor the httpx error.
        return _result(post(LABEL, self.url, content=body, headers=headers))


def _result(response: httpx.Response) -> SendResult:
    code = response.status_code
    if 200 <= code < 300:
        try:
            return SendResult(str(response.json()["id"]))
        except (ValueError, KeyError, TypeError):
            return SendResult(response.headers.get("X-Message-Id", ""))
    raise refused(LABEL, response, config_statuses=CONFIG_STATUSES)
