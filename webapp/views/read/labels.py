"""How channels and message types read to a person, on every page."""
from __future__ import annotations

from webapp import vocabulary
from webapp.channels.registry import get_channel
from webapp.templating import catalog


def channel_label(code: str) -> str:
    channel = get_channel(code)
    return channel.label if channel else code


def message_type_label(code: str) -> str:
    kind, _, status = code.partition(".")
    if not status:
        return code
    if kind in (vocabulary.ORDER, vocabulary.INVOICE):
        return f"{kind.capitalize()} · {vocabulary.status_label(kind, status)}"
    known = catalog.get(code)  # payment, shipping, account, marketing types: the catalog's own name
    return known.name if known else code


# Timeline event kinds a provider's receipt can add, as they read on the notification's timeline.
RECEIPT_EVENT_LABELS = {
    "delivered": "Delivered", "undelivered": "Undelivered", "failed": "Failed", "dropped": "Dropped by provider",
    "bounced": "Bounced", "complained": "Marked as spam", "opened": "Opened", "clicked": "Link clicked",
    "deferred": "Delivery delayed", "blocked": "Blocked by receiving server", "unsubscribed": "Unsubscribed",
}


def receipt_event_label(kind: str) -> str:
    return RECEIPT_EVENT_LABELS.get(kind, kind.replace("_", " ").capitalize())
