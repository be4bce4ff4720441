"""Writing planned messages to the outbox (the notifications table), before any is enqueued."""
from __future__ import annotations

import hashlib

from webapp.dispatch.models import PENDING, Notification, NotificationEvent
from webapp.dispatch.planned import PlannedMessage
from webapp.extensions import db
from webapp.timeutil import utcnow


def idempotency_key(*parts: object) -> str:
    """Same parts, same key: the unique index on it is what makes a duplicate event harmless."""
    return hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()


def add_planned(*, store_id: int, source: str, planned: list[PlannedMessage], key_base: str, reason: str,
                order_id: int | None = None, customer_id: int | None = None,
                status_change=None) -> list[Notification]:
    """Add one Notification per planned message to the session (the caller commits)."""
    now = utcnow()
    rows = []
    for message in planned:
        row = Notification(
            store_id=store_id, order_id=order_id, customer_id=customer_id, status_change=status_change,
            source=source, message_type=message.message_type, channel=message.channel,
            priority=message.priority, locale=message.locale, recipient=message.recipient,
            subject=message.subject, body=message.body, body_text=message.text, link=message.link,
            headers=message.headers, status=message.status, error=message.error,
            reason=reason, idempotency_key=idempotency_key(key_base, message.channel, message.recipient),
            created_at=now, finished_at=None if message.status == PENDING else now,
        )
        detail = f"{reason} · {message.template}" if message.template else reason
        row.events.append(NotificationEvent(kind="planned", detail=detail[:500], at=now))
        if message.status != PENDING:
            row.events.append(NotificationEvent(kind=message.status, detail=message.error or "", at=now))
        db.session.add(row)
        rows.append(row)
    return rows
