"""Echo: the smallest NotifyHub provider plug-in. It delivers nothing; it keeps each message in
SENT and answers an id, the way a real provider answers with its message id."""
from __future__ import annotations

from webapp.channels.providers.base import (
    ConfigField,
    OutboundMessage,
    ProviderConfigError,
    ProviderSpec,
    SendResult,
)

SENT: list[dict] = []


class EchoProvider:
    spec = ProviderSpec("echo", "Echo (plug-in)", ("ops",), (ConfigField("room", "Room to echo into"),))

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        self.room = (settings or {}).get("room")
        if not self.room:
            raise ProviderConfigError("Echo needs a room")

    def send(self, message: OutboundMessage) -> SendResult:
        SENT.append({"room": self.room, "channel": message.channel, "to": message.recipient,
                     "subject": message.subject, "body": message.body})
        return SendResult(f"echo-{len(SENT)}")
