"""The consent decision for one planned message, as plain data.

Transactional and critical messages go regardless of marketing consent, but an address that is
suppressed on a channel (STOP, hard bounce, complaint) is never messaged on it, whatever the type.
Marketing needs an explicit opt-in on that very channel, and a topic the shopper did not turn off.
"""
from __future__ import annotations

from dataclasses import dataclass

from webapp.consent.vocabulary import OPTED_IN, OPTED_OUT, TOPICS, channel_label

CRITICAL = "critical"
TRANSACTIONAL = "transactional"
MARKETING = "marketing"
PRIORITIES = (CRITICAL, TRANSACTIONAL, MARKETING)


@dataclass(frozen=True)
class ConsentDecision:
    allowed: bool
    reason: str = ""


def decide(priority: str, channel: str, suppression: str | None, marketing_consent: str | None = None,
           topic: str | None = None, muted_topics: frozenset[str] = frozenset()) -> ConsentDecision:
    """`suppression` is the address's suppression in words ("hard bounce 2026-11-02"), None if none;
    `marketing_consent` the customer's state on the channel (None: never asked)."""
    if suppression:
        return ConsentDecision(False, f"suppressed: {suppression}")
    if priority != MARKETING:
        return ConsentDecision(True)
    label = channel_label(channel)
    if marketing_consent == OPTED_OUT:
        return ConsentDecision(False, f"opted out of {label} marketing")
    if marketing_consent != OPTED_IN:
        return ConsentDecision(False, f"not opted in to {label} marketing")
    if topic and topic in muted_topics:
        return ConsentDecision(False, f"turned off “{TOPICS.get(topic, topic)}” in the preference centre")
    return ConsentDecision(True)
