"""Echo: the smallest NotifyHub provider plug-in. It delivers nothing; it keeps each message in
SENT and answers an id, the way a real provider answers with its message id. It also brings its own
delivery receipts: POST /callbacks/echo/<store> with a JSON body {"event_id", "message_id",
"status"}, signed as X-Echo-Signature: hex HMAC-SHA256 of the body with the account's signing secret."""
from __future__ import annotations

import hashlib
import hmac

from webapp.channels.providers.base import (
    ConfigField,
    OutboundMessage,
    ProviderConfigError,
    ProviderSpec,
    SendResult,
)
from webapp.channels.providers.callbacks import FORBIDDEN, ParsedCallback, Receipt, ReplayKey

SENT: list[dict] = []
STATUSES = {"delivered": "delivered", "failed": "failed"}


class EchoCallbacks:
    kinds = ("",)

    def verify(self, request, context) -> bool:
        given = request.header("X-Echo-Signature")
        for account in context.accounts:
            secret = account.value("signing_secret")
            expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
            if secret and given and hmac.compare_digest(expected, given):
                return True
        return False

    def rejected(self, request):
        return FORBIDDEN

    def parse(self, request, context) -> ParsedCallback:
        event = request.json() if isinstance(request.json(), dict) else {}
        outcome = STATUSES.get(event.get("status"))
        if not outcome:
            return ParsedCallback()
        return ParsedCallback(receipts=(Receipt((str(event.get("message_id")),), outcome, "echo receipt",
                                                replay_key=ReplayKey("echo", str(event.get("event_id")))),))


class EchoProvider:
    spec = ProviderSpec("echo", "Echo (plug-in)", ("ops", "sms"), (
        ConfigField("room", "Room to echo into"),
        ConfigField("signing_secret", "Receipt signing secret", secret=True, required=False),
    ), callbacks=EchoCallbacks())

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        self.room = (settings or {}).get("room")
        if not self.room:
            raise ProviderConfigError("Echo needs a room")

    def send(self, message: OutboundMessage) -> SendResult:
        SENT.append({"room": self.room, "channel": message.channel, "to": message.recipient,
                     "subject": message.subject, "body": message.body})
        return SendResult(f"echo-{len(SENT)}")
