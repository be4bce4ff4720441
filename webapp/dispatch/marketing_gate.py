"""Applied to claimed marketing rows just before sending: quiet hours hold a row until they end,
the frequency cap suppresses it. Transactional and critical rows never pass through here.

At send time, not at planning: a campaign queued in the afternoon and sent at night must still
wait, and the cap counts what was actually sent. Two workers racing on the same customer may
overshoot the cap by the messages in flight; the cap is a courtesy, not a legal limit (consent is).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, func, select

from webapp.accounts.models import Store
from webapp.consent.marketing_limits import cap_reason, quiet_until, zone
from webapp.consent.policy import MARKETING
from webapp.customers.models import Customer
from webapp.dispatch import models as m
from webapp.dispatch.queueing import enqueue_ids
from webapp.extensions import db
from webapp.timeutil import utcnow


def gate(rows: list[m.Notification]) -> list[m.Notification]:
    """The rows to send now; held and capped rows are recorded and left out."""
    marketing = [row for row in rows if row.priority == MARKETING]
    if not marketing:
        return rows
    stores = {row.store_id: db.session.get(Store, row.store_id) for row in marketing}
    limited = [row for row in marketing if _has_limits(stores[row.store_id])]
    if not limited:
        return rows
    now = utcnow()
    customers = [row.customer_id for row in limited if row.customer_id]
    zones = dict(db.session.execute(select(Customer.id, Customer.timezone).where(Customer.id.in_(customers))).all()) \
        if customers else {}
    counts = _sent_counts(customers, now)
    held: dict[float, list[m.Notification]] = {}
    stopped = set()
    for row in limited:
        store = stores[row.store_id]
        until = quiet_until(now, store.quiet_hours_start, store.quiet_hours_end,
                            zone(zones.get(row.customer_id), store.timezone))
        if until is not None:
            _hold(row, until, now, held)
            stopped.add(row.id)
            continue
        today, week = counts.get(row.customer_id, (0, 0))
        reason = cap_reason(today, week, store.marketing_cap_day, store.marketing_cap_week) \
            if row.customer_id else None
        if reason:
            _suppress(row, reason, now)
            stopped.add(row.id)
        elif row.customer_id:
            counts[row.customer_id] = (today + 1, week + 1)  # this batch's own sends count too
    if stopped:
        db.session.commit()
        for delay, group in held.items():
            enqueue_ids(MARKETING, [row.id for row in group], delay_seconds=delay, detail=group[0].error or "")
    return [row for row in rows if row.id not in stopped]


def _has_limits(store: Store | None) -> bool:
    return store is not None and bool((store.quiet_hours_start and store.quiet_hours_end)
                                      or store.marketing_cap_day is not None or store.marketing_cap_week is not None)


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


def _hold(row: m.Notification, until, now, held: dict) -> None:
    label = until.strftime("%H:%M")
    row.status, row.error = m.PENDING, f"held: quiet hours until {label}"
    row.lease_owner = row.lease_expires_at = None
    row.next_attempt_at = until
    row.events.append(m.NotificationEvent(kind="held", detail=f"quiet hours until {label} "
                                                               f"({until.tzinfo}); sends then", at=now))
    delay = max(1.0, (until - now).total_seconds())
    held.setdefault(round(delay), []).append(row)


def _suppress(row: m.Notification, reason: str, now) -> None:
    row.status, row.error, row.finished_at = m.SUPPRESSED, reason, now
    row.lease_owner = row.lease_expires_at = None
    row.events.append(m.NotificationEvent(kind=m.SUPPRESSED, detail=reason, at=now))
