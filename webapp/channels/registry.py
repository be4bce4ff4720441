"""The one list of channels. Pages and rule forms iterate it, so a channel added here
(or registered by a later module) appears everywhere with no template change."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    code: str
    label: str
    # Whether Customer Notifications rules offer this channel as a toggle.
    customer_facing: bool = True


_CHANNELS: dict[str, Channel] = {}


def register_channel(channel: Channel) -> Channel:
    _CHANNELS.setdefault(channel.code, channel)
    return _CHANNELS[channel.code]


def channels() -> tuple[Channel, ...]:
    return tuple(_CHANNELS.values())


def rule_channels() -> tuple[Channel, ...]:
    return tuple(c for c in _CHANNELS.values() if c.customer_facing)


def get_channel(code: str) -> Channel | None:
    return _CHANNELS.get(code)


EMAIL = register_channel(Channel("email", "Email"))
SMS = register_channel(Channel("sms", "SMS"))
WHATSAPP = register_channel(Channel("whatsapp", "WhatsApp"))
PUSH = register_channel(Channel("push", "Push"))
IN_APP = register_channel(Channel("in_app", "In-app"))
# The merchant's own staff: escalation alerts and team notices, never a customer.
OPS = register_channel(Channel("ops", "Team & ops alerts", customer_facing=False))
