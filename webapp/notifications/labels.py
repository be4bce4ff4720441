"""How channels and message types read to a person, on every page."""
from __future__ import annotations

from webapp.channels.registry import get_channel
from webapp.notifications import catalog


def channel_label(code: str) -> str:
    channel = get_channel(code)
    return channel.label if channel else code


def message_type_label(code: str) -> str:
    kind, _, status = code.partition(".")
    if not status:
        return code
    return f"{kind.capitalize()} · {catalog.status_label(kind, status)}"
