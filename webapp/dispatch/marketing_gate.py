"""The last look before sending, for a claimed batch: consent may have changed since the message
was planned (a STOP while it waited in the queue, an unsubscribe during quiet hours), so every
row's address is checked against the suppressions again, and marketing rows against the
customer's marketing consent and topics; then quiet hours hold marketing until they end and the
frequency cap suppresses it. Two or three queries per batch, none per message.

At send time, not at planning: a campaign queued in the afternoon and sent at night must still
wait, and the cap counts what was actually sent. Two workers racing on the same customer may
overshoot the cap by the messages in flight; the cap is a courtesy, not a legal limit (consent is).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import case, func, insert, select

from webapp.accounts.models import Store
from webapp.consent.marketing_limits import cap_reason, quiet_until, zone
from webapp.consent.models import ChannelSuppression, CustomerConsent
from webapp.consent.policy import MARKETING, decide
from webapp.consent.vocabulary import topic_of
from webapp.customers.models import Customer
from webapp.dispatch import models as m
from webapp.dispatch.queueing import enqueue_ids
from webapp.extensions import db
from webapp.timeutil import utcnow

# Why a queued message of a campaign paused or cancelled since is not sent (resuming writes the
# paused ones again: campaigns/control.py).
CAMPAIGN_PAUSED, CAMPAIGN_CANCELLED = "held back: the campaign was paused", "the campaign was cancelled"


def _no_campaigns(campaign_ids: set[int]) -> dict[int, str]:
    return {}


_campaign_statuses: Callable[[set[int]], dict[int, str]] = _no_campaigns


def watch_campaigns(lookup: Callable[[set[int]], dict[int, str]]) -> None:
    """The campaigns' lookup of which are paused or cancelled (wired by the app: campaigns sit above
    dispatch)."""
    global _campaign_statuses
    _campaign_statuses = lookup


def gate(rows: list[m.Notification]) -> list[m.Notification]:
    """The rows to send now; held and suppressed rows are recorded and left out."""
    if not rows:
        return rows
    now = utcnow()
    stopped: dict[int, tuple[str, str]] = {}  # row id -> (status, why)
    suppressed = _suppressions(rows)
    for row in rows:
        reason = suppressed.get((row.store_id, row.channel, row.recipient))
        if reason:
            stopped[row.id] = (m.SUPPRESSED, f"suppressed: {reason}")
    campaigns = _campaign_statuses({row.campaign_id for row in rows if row.campaign_id and row.id not in stopped})
    for row in rows:
        if row.campaign_id in campaigns and row.id not in stopped:
            why = CAMPAIGN_PAUSED if campaigns[row.campaign_id] == "paused" else CAMPAIGN_CANCELLED
            stopped[row.id] = (m.SKIPPED, why)
    marketing = [row for row in rows if row.priority == MARKETING and row.id not in stopped]
    held: dict[int, list[m.Notification]] = {}
    if marketing:
        _check_marketing(marketing, now, stopped, held)
    if not stopped:
        return rows
    _record(rows, stopped, now)
    for delay, group in held.items():
        enqueue_ids(MARKETING, [row.id for row in group], delay_seconds=delay, detail=stopped[group[0].id][1])
    return [row for row in rows if row.id not in stopped]


def _suppressions(rows: list[m.Notification]) -> dict[tuple[int, str, str], str]:
    addresses = {row.recipient for row in rows if row.recipient}
    if not addresses:
        return {}
    found = db.session.execute(select(ChannelSuppression.store_id, ChannelSuppression.channel,
                                      ChannelSuppression.address, ChannelSuppression.reason,
                                      ChannelSuppression.created_at)
                               .where(ChannelSuppression.store_id.in_({row.store_id for row in rows}),
                                      ChannelSuppression.address.in_(addresses)))
    return {(s, c, a): f"{reason} {at:%Y-%m-%d}" for s, c, a, reason, at in found}


def _check_marketing(rows: list[m.Notification], now, stopped: dict, held: dict) -> None:
    ids = {row.customer_id for row in rows if row.customer_id}
    profiles = {cid: (tz, frozenset(muted or ())) for cid, tz, muted in db.session.execute(
        select(Customer.id, Customer.timezone, Customer.muted_topics).where(Customer.id.in_(ids)))} if ids else {}
    consent = {(cid, ch): status for cid, ch, status in db.session.execute(
        select(CustomerConsent.customer_id, CustomerConsent.channel, CustomerConsent.status)
        .where(CustomerConsent.customer_id.in_(ids)))} if ids else {}
    stores = {row.store_id: db.session.get(Store, row.store_id) for row in rows}
    counts = _sent_counts([row.customer_id for row in rows if row.customer_id and _capped(stores[row.store_id])],
                          now)
    for row in rows:
        timezone, muted = profiles.get(row.customer_id, (None, frozenset()))
        # A row with no customer was planned for a bare address; its consent was decided then.
        decision = decide(MARKETING, row.channel, None, consent.get((row.customer_id, row.channel)),
                          topic_of(row.message_type), muted) if row.customer_id else None
        if decision is not None and not decision.allowed:
            stopped[row.id] = (m.SUPPRESSED, decision.reason)
            continue
        store = stores[row.store_id]
        until = quiet_until(now, store.quiet_hours_start, store.quiet_hours_end, zone(timezone, store.timezone))
        if until is not None:
            stopped[row.id] = (m.PENDING, f"held: quiet hours until {until:%H:%M}")
            row.next_attempt_at = until
            held.setdefault(max(1, round((until - now).total_seconds())), []).append(row)
            continue
        today, week = counts.get(row.customer_id, (0, 0))
        reason = cap_reason(today, week, store.marketing_cap_day, store.marketing_cap_week) \
            if row.customer_id and _capped(store) else None
        if reason:
            stopped[row.id] = (m.SUPPRESSED, reason)
        elif row.customer_id:
            counts[row.customer_id] = (today + 1, week + 1)  # this batch's own sends count too


def _capped(store: Store | None) -> bool:
    return store is not None and (store.marketing_cap_day is not None or store.marketing_cap_week is not None)


def _sent_counts(customer_ids: list[int], now) -> dict[int, tuple[int, int]]:
    if not customer_ids:
        return {}
    N = m.Notification
    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    rows = db.session.execute(
        select(N.customer_id, func.sum(case((N.sent_at >= day_ago, 1), else_=0)), func.count())
        .where(N.customer_id.in_(set(customer_ids)), N.priority == MARKETING, N.sent_at >= week_ago,
               N.status.in_((m.SENT, m.DELIVERED)))
        .group_by(N.customer_id)).all()
    return {customer_id: (int(today or 0), int(week)) for customer_id, today, week in rows}


def _record(rows: list[m.Notification], stopped: dict[int, tuple[str, str]], now) -> None:
    """Held rows go back to pending (a job is scheduled for the end of quiet hours); suppressed ones
    end. Timeline entries in one multi-row INSERT, without loading any row's timeline."""
    events = []
    for row in rows:
        if row.id not in stopped:
            continue
        status, why = stopped[row.id]
        row.status, row.error, row.lease_owner, row.lease_expires_at = status, why, None, None
        if status != m.PENDING:
            row.finished_at = now
        kind, detail = ("held", why.removeprefix("held: ") + "; sends then") if status == m.PENDING \
            else (status, f"at send time: {why}")
        events.append({"notification_id": row.id, "kind": kind, "detail": detail, "at": now, "provider": None})
    db.session.execute(insert(m.NotificationEvent), events)
    db.session.commit()
