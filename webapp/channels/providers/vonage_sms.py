"""Vonage (formerly Nexmo) SMS API: POST https://rest.nexmo.com/sms/json, form-encoded.

Fields: api_key, api_secret, from (number without "+" or alphanumeric sender ID), to (digits,
no "+"), text, type=unicode when the text is not GSM-7, client-ref (our notification id, echoed in
delivery receipts) and callback (the delivery-receipt URL, when set).

The answer is HTTP 200 even for a rejected message: each part in `messages` has its own `status`,
"0" meaning accepted (see developer.vonage.com/messaging/sms/guides/troubleshooting-sms and
/api-errors/sms). The statuses mapped are in STATUS_ERRORS; an unknown non-zero status is treated
as permanent. HTTP 429, 5xx and 401/403 are read like the other adapters (http_pool).
"""
from __future__ import annotations

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
from webapp.channels.providers.vonage_callbacks import VonageCallbacks

SPEC = ProviderSpec("vonage", "Vonage SMS API", ("sms",), (
    ConfigField("api_key", "API key"),
    ConfigField("api_secret", "API secret", secret=True),
    ConfigField("from_number", "Sender: number in E.164 or alphanumeric sender ID"),
    ConfigField("status_callback_url", "Delivery receipt URL (default: this app's, from PUBLIC_BASE_URL)",
                required=False),
    # Vonage's signed webhooks (turned on for the account by Vonage support): receipts and inbound
    # messages are accepted only when signed with this secret.
    ConfigField("signature_secret", "Signature secret (signed webhooks)", secret=True, required=False),
    ConfigField("signature_method", "Signature method: md5hash (default), md5, sha1, sha256 or sha512",
                required=False),
), status_callback_path="/callbacks/vonage/{store}/status", callbacks=VonageCallbacks())
DEFAULT_BASE = "https://rest.nexmo.com"
LABEL = "Vonage"

# Documented non-zero statuses. Account-wide problems fail over to the next provider (config);
# problems with this message or this recipient are permanent; throttling and platform errors retry.
STATUS_ERRORS: dict[str, type] = {
    "1": RateLimitedError,        # Throttled: faster than the account's throughput limit
    "2": PermanentProviderError,  # Missing parameters
    "3": PermanentProviderError,  # Invalid parameters (e.g. a malformed 'to')
    "4": ProviderConfigError,     # Invalid credentials
    "5": TransientProviderError,  # Internal error
    "6": PermanentProviderError,  # Invalid message (e.g. unrecognised number prefix)
    "7": PermanentProviderError,  # Number barred: the recipient is blacklisted
    "8": ProviderConfigError,     # Partner account barred (suspended)
    "9": ProviderConfigError,     # Partner quota violation: not enough credit
    "10": RateLimitedError,       # Too many existing binds: back off and retry
    "11": ProviderConfigError,    # Facility not allowed: account not enabled for the REST API
    "12": PermanentProviderError,  # Message too long
    "14": ProviderConfigError,    # Invalid signature
    "15": ProviderConfigError,    # Invalid sender address: our 'from' is refused
    "22": PermanentProviderError,  # Invalid network code
    "23": ProviderConfigError,    # Invalid callback URL: our setting
    "29": PermanentProviderError,  # Non-whitelisted destination (trial accounts)
    "32": ProviderConfigError,    # Signature and API secret disallowed
    "33": PermanentProviderError,  # Number de-activated
}

# GSM 03.38 basic set and extension table: text outside it must go as type=unicode, or Vonage
# replaces the characters it cannot encode.
GSM7 = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà" "\f^{}\\[~]|€")


class VonageProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.api_key = settings.get("api_key", "")
        self.api_secret = secrets.get("api_secret", "")
        self.sender = http_pool.sender_address(settings.get("from_number") or "")
        if not (self.api_key and self.api_secret and self.sender):
            raise ProviderConfigError("Vonage needs an API key, an API secret and a sender")
        self.callback = settings.get("status_callback_url")
        self.url = http_pool.base(base_url, DEFAULT_BASE) + "/sms/json"

    def send(self, message: OutboundMessage) -> SendResult:
        form = {"api_key": self.api_key, "api_secret": self.api_secret, "from": self.sender,
                "to": http_pool.phone_digits(message.recipient, LABEL), "text": message.body,
                # Echoed in the delivery receipt, so a callback can find the notification.
                "client-ref": str(message.notification_id)}
        if not set(message.body) <= GSM7:
            form["type"] = "unicode"
        if self.callback:
            form["callback"] = self.callback
        secrets = (self.api_secret,)
        response = http_pool.post(LABEL, self.url, url_name="API base URL", data=form,
                                  headers={"Accept": "application/json"})
        if not 200 <= response.status_code < 300:
            raise http_pool.refused(LABEL, response, secrets=secrets)
        body = http_pool.json_body(response)
        parts = body.get("messages") if isinstance(body, dict) else None
        if not parts or not isinstance(parts, list):
            raise TransientProviderError(http_pool.reason(LABEL, response.status_code, "unexpected answer", secrets))
        # A long text is split into parts, each with its own status; any failed part fails the send.
        for part in parts:
            status = str(part.get("status", ""))
            if status != "0":
                why = http_pool.redact(f"{LABEL} status {status}: {part.get('error-text', '')}",
                                       secrets)[:http_pool.MAX_REASON]
                raise STATUS_ERRORS.get(status, PermanentProviderError)(why)
        return SendResult(str(parts[0].get("message-id", "")))
