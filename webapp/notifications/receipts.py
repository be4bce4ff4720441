"""Delivery receipts from providers (delivered, undelivered, bounced, ...) applied to notifications.

A receipt only moves a notification forward: a late or replayed "sent" never undoes "delivered",
and a notification already final for the same reason is left as it is.
"""
from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.notifications import models as m
from webapp.timeutil import utcnow

# Provider-neutral outcomes a receipt can report, and the notification status each leads to.
OUTCOMES = {"delivered": m.DELIVERED, "undelivered": m.FAILED, "failed": m.FAILED, "bounced": m.FAILED}


def apply_receipt(store_id: int, provider: str, provider_message_id: str, outcome: str, detail: str = "") -> bool:
    """Record a receipt; returns whether the notification changed. Unknown ids change nothing."""
    new_status = OUTCOMES.get(outcome)
    if new_status is None or not provider_message_id:
        return False
    row = db.session.scalar(select(m.Notification).where(
        m.Notification.store_id == store_id, m.Notification.provider == provider,
        m.Notification.provider_message_id == provider_message_id).with_for_update())
    if row is None or row.status != m.SENT:  # only a sent message can still be delivered or bounce
        return False
    row.status, row.finished_at = new_status, utcnow()
    if new_status == m.FAILED:
        row.error = f"{provider}: {outcome}{f' ({detail})' if detail else ''}"
    db.session.add(m.NotificationEvent(notification_id=row.id, kind=outcome, provider=provider,
                                       detail=detail or f"receipt from {provider}", at=utcnow()))
    db.session.commit()
    return True
