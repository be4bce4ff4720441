"""The consent decision for one planned message, as plain data.

Transactional and critical messages about a customer's own order need no marketing opt-in, but
an address that opted out of a channel (STOP), bounced or complained is never messaged on it.
Marketing needs an explicit opt-in.
"""
from __future__ import annotations

from dataclasses import dataclass

CRITICAL = "critical"
TRANSACTIONAL = "transactional"
MARKETING = "marketing"
PRIORITIES = (CRITICAL, TRANSACTIONAL, MARKETING)


@dataclass(frozen=True)
class ConsentDecision:
    allowed: bool
    reason: str = ""


def decide(priority: str, suppression_reason: str | None, marketing_opt_in: bool = False) -> ConsentDecision:
    if suppression_reason:
        return ConsentDecision(False, f"address is suppressed on this channel: {suppression_reason}")
    if priority == MARKETING and not marketing_opt_in:
        return ConsentDecision(False, "customer has not opted in to marketing")
    return ConsentDecision(True)
