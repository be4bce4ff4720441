"""Twilio SMS (and WhatsApp with `whatsapp:` addresses) through the official SDK.

Messages API: POST /2010-04-01/Accounts/{AccountSid}/Messages.json with a Messaging Service SID
or a sender number, and a StatusCallback so delivery receipts update the notification.
"""
from __future__ import annotations

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

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
from webapp.channels.providers.twilio_callbacks import TwilioCallbacks
from webapp.channels.providers.twilio_transport import PooledTwilioClient

SPEC = ProviderSpec("twilio", "Twilio", ("sms", "whatsapp"), (
    ConfigField("account_sid", "Account SID"),
    ConfigField("auth_token", "Auth token", secret=True),
    ConfigField("messaging_service_sid", "Messaging Service SID (or a sender number below)", required=False),
    ConfigField("from_number", "Sender number, E.164", required=False),
    ConfigField("status_callback_url", "Status callback URL (default: this app's, from PUBLIC_BASE_URL)",
                required=False),
), status_callback_path="/callbacks/twilio/{store}/status", callbacks=TwilioCallbacks())
# Twilio error codes that no retry can fix: invalid or unreachable 'To', opted out, bad sender.
PERMANENT_CODES = {21211, 21214, 21217, 21408, 21610, 21612, 21614, 30003, 30004, 30005, 30006, 30007}


class TwilioProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.account_sid = settings.get("account_sid", "")
        if not self.account_sid or not secrets.get("auth_token"):
            raise ProviderConfigError("Twilio needs an account SID and an auth token")
        self.service_sid = settings.get("messaging_service_sid")
        self.from_number = settings.get("from_number")
        if not (self.service_sid or self.from_number):
            raise ProviderConfigError("Twilio needs a Messaging Service SID or a sender number")
        self.status_callback = settings.get("status_callback_url")
        self.client = Client(self.account_sid, secrets["auth_token"], http_client=PooledTwilioClient(timeout=10))
        if base_url:  # regional edge or a test double
            self.client.api.base_url = base_url.rstrip("/")

    def send(self, message: OutboundMessage) -> SendResult:
        to = message.recipient
        sender = {"messaging_service_sid": self.service_sid} if self.service_sid else {"from_": self.from_number}
        if message.channel == "whatsapp":
            to = to if to.startswith("whatsapp:") else f"whatsapp:{to}"
            if "from_" in sender and not sender["from_"].startswith("whatsapp:"):
                sender["from_"] = f"whatsapp:{sender['from_']}"
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        try:
            created = self.client.messages.create(to=to, body=message.body, **sender, **extra)
        except TwilioRestException as error:
            raise _classify(error) from error
        except TwilioException as error:
            raise TransientProviderError(f"Twilio unreachable: {error}") from None
        return SendResult(created.sid)


def _classify(error: TwilioRestException) -> Exception:
    reason = f"HTTP {error.status} code {error.code}: {error.msg}"
    if error.status == 429:
        return RateLimitedError(reason)
    if error.status >= 500:
        return TransientProviderError(reason)
    if error.status in (401, 403):
        return ProviderConfigError(reason)
    # Other 4xx, the known bad-recipient codes (PERMANENT_CODES) among them: no retry can help.
    return PermanentProviderError(reason)
