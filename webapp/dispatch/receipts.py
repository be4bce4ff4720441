"""Delivery receipts from providers (delivered, undelivered, bounced, ...) applied to notifications.

A receipt only moves a notification forward: a late or replayed "sent" never undoes "delivered",
and a notification already final for the same reason is left as it is.

Final outcomes change the status: delivered (from sent), undelivered / failed / dropped (from sent),
bounced / complained (from sent or delivered: both can arrive after the receiving server accepted the
mail). A hard bounce or a complaint also suppresses the address on the channel, with its consent event.
Tracking outcomes (opened, clicked, deferred, blocked, unsubscribed) only add to the timeline, and only
while the message is sent or delivered; unsubscribed also suppresses the address as an opt-out.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from webapp.consent import models as consent
from webapp.consent.suppression import suppress
from webapp.dispatch import models as m
from webapp.extensions import db
from webapp.timeutil import utcnow

# Provider-neutral outcomes a receipt can report, and the notification status each leads to.
OUTCOMES = {"delivered": m.DELIVERED, "undelivered": m.FAILED, "failed": m.FAILED, "dropped": m.FAILED,
            "bounced": m.FAILED, "complained": m.FAILED}
# Outcomes recorded on the timeline without changing the status.
TIMELINE_OUTCOMES = frozenset({"opened", "clicked", "deferred", "blocked", "unsubscribed"})
# From which statuses each outcome may apply.
_AFTER_DELIVERY = frozenset({"bounced", "complained"})
# Outcomes that suppress the address: the consent action and the suppression reason.
SUPPRESSING = {"bounced": consent.BOUNCE, "complained": consent.COMPLAINT, "unsubscribed": consent.OPT_OUT}


def find_notification(store_id: int, provider: str, provider_message_ids: str | Iterable[str],
                      notification_id: int | None = None) -> m.Notification | None:
    """The store's notification the provider knows by this id. A batch request gives all its messages
    one provider id, so the notification id the provider echoes back (custom args, user variables)
    picks the right one; the provider id must still match, so a callback cannot reach another row.
    An event without any provider id (rare) is matched by the echoed id alone, within the store and
    provider: it comes from a webhook verified with the store's own credentials."""
    ids = [provider_message_ids] if isinstance(provider_message_ids, str) else list(provider_message_ids)
    ids = [i for i in ids if i]
    if not ids and notification_id is None:
        return None
    query = select(m.Notification).where(m.Notification.store_id == store_id, m.Notification.provider == provider)
    if ids:
        query = query.where(m.Notification.provider_message_id.in_(ids))
    if notification_id is not None:
        query = query.where(m.Notification.id == notification_id)
    return db.session.scalar(query.order_by(m.Notification.id).limit(1).with_for_update())


def apply_receipt(store_id: int, provider: str, provider_message_id: str | Iterable[str], outcome: str,
                  detail: str = "", *, commit: bool = True, reported_recipients: Iterable[str] | None = None,
                  notification_id: int | None = None) -> bool:
    """Record a receipt; returns whether the notification changed. Unknown ids change nothing.

    provider_message_id may be several candidate ids (e.g. with and without angle brackets).
    reported_recipients are the addresses the provider says bounced or complained: only the
    notification's own recipient among them is suppressed (an event may not suppress addresses the
    store never sent that message to); None means the notification's recipient.
    commit=False leaves the transaction to the caller.
    """
    if outcome not in OUTCOMES and outcome not in TIMELINE_OUTCOMES:
        return False
    row = find_notification(store_id, provider, provider_message_id, notification_id)
    if row is None:
        return False
    if reported_recipients is None:
        addresses = [row.recipient]
    else:
        own = row.recipient.lower()
        addresses = [row.recipient] if own and any(str(r).lower() == own for r in reported_recipients if r) else []
    changed = _apply(row, provider, outcome, detail, addresses)
    if commit:
        db.session.commit()
    return changed


def _apply(row: m.Notification, provider: str, outcome: str, detail: str, addresses: list[str]) -> bool:
    allowed = (m.SENT, m.DELIVERED) if outcome in _AFTER_DELIVERY or outcome in TIMELINE_OUTCOMES else (m.SENT,)
    if row.status not in allowed:  # only a sent message can still be delivered or bounce
        return False
    new_status = OUTCOMES.get(outcome)
    if new_status is not None:
        row.status, row.finished_at = new_status, utcnow()
        if new_status == m.FAILED:
            row.error = f"{provider}: {outcome}{f' ({detail})' if detail else ''}"
    db.session.add(m.NotificationEvent(notification_id=row.id, kind=outcome, provider=provider,
                                       detail=detail or f"receipt from {provider}", at=utcnow()))
    action = SUPPRESSING.get(outcome)
    if action is not None:
        reason = {consent.BOUNCE: f"bounced: {detail or provider}", consent.COMPLAINT: "complained",
                  consent.OPT_OUT: "opted out (unsubscribe)"}[action]
        for address in dict.fromkeys(a for a in addresses if a):
            suppress(row.store_id, row.channel, address, action, reason, f"{provider} event",
                     detail or None, customer_id=row.customer_id if address == row.recipient else None)
    return True
