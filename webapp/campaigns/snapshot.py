"""Freezing a campaign's segment into its recipients when the send starts: who is in it, the
address, language and timezone they are sent in, when each is due, the A/B variant, and who is
excluded and why. One transaction with the campaign's move to `sending`: a send killed while
freezing starts again from nothing, and a frozen send never re-reads the segment."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import insert

from webapp.accounts.models import Store
from webapp.campaigns.audience import EXCLUSION_LABELS, members
from webapp.campaigns.campaign_store import transition
from webapp.campaigns.models import EXCLUDED, SCHEDULED, SENDING, WAITING, Campaign, CampaignRecipient
from webapp.campaigns.schedule import due_at, zone
from webapp.campaigns.segment_store import get_segment, rules_of
from webapp.extensions import db

CHUNK = 5000
A, B, WAIT_FOR_WINNER = "A", "B", "W"


def freeze(campaign: Campaign, store: Store, now: datetime) -> int | None:
    """Mark the campaign sending and write its recipients (the caller commits); returns how many, or
    None when it is no longer scheduled (paused or cancelled meanwhile): nothing is written then."""
    if not transition(campaign, (SCHEDULED,), status=SENDING, started_at=now, status_reason=None):
        return None
    segment = get_segment(store.id, campaign.segment_id)
    match, conditions = rules_of(segment)
    store_tz = zone(store.timezone)
    test = campaign.ab_test or {}
    rows, total = [], 0
    for member in members(store.id, match, conditions, campaign.channel):
        due = due_at(campaign.send_at, campaign.local_time, store_tz, member.timezone, now)
        variant = "" if member.excluded else variant_of(campaign.id, member.customer_id, test)
        if variant == WAIT_FOR_WINNER:
            due = max(due, now + timedelta(minutes=test["wait_minutes"]))
        rows.append({"campaign_id": campaign.id, "customer_id": member.customer_id,
                     "address": (member.address or "")[:254], "locale": member.locale, "name": member.name[:200],
                     "variant": variant, "status": EXCLUDED if member.excluded else WAITING,
                     "reason": EXCLUSION_LABELS[member.excluded] if member.excluded else None,
                     "due_at": due, "round": 1})
        if len(rows) == CHUNK:
            total += _write(rows)
    total += _write(rows)
    return total


def variant_of(campaign_id: int, customer_id: int, test: dict) -> str:
    """A/B: sample_percent of recipients get A, as many get B, the rest wait for the winner. A hash
    of the campaign and customer, so the split is stable, uncorrelated with sign-up order, and the
    same on a restarted freeze."""
    if not test:
        return ""
    digest = hashlib.blake2b(f"{campaign_id}:{customer_id}".encode(), digest_size=8).digest()
    position = int.from_bytes(digest, "big") % 10_000 / 100  # 0.00 .. 99.99
    share = test["sample_percent"]
    return A if position < share else B if position < 2 * share else WAIT_FOR_WINNER


def _write(rows: list[dict]) -> int:
    count = len(rows)
    if rows:  # Core on the table: the ORM's bulk insert costs several times more per row
        db.session.execute(insert(CampaignRecipient.__table__), rows)
        rows.clear()
    return count
