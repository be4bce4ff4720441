"""Staff-triggered messages: "Send notification" on an order, and "Resend" of a past one.

Both need a reason, kept in the audit log with who did it, and both are critical priority:
a support agent is usually on the phone with the customer while it goes out.
"""
from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from webapp import vocabulary
from webapp.accounts.models import Store, User
from webapp.audit.models import record
from webapp.channels.registry import rule_channels
from webapp.consent.policy import CRITICAL
from webapp.customers.models import Customer
from webapp.dispatch.models import PENDING, Notification, NotificationEvent
from webapp.dispatch.outbox import add_planned, idempotency_key
from webapp.dispatch.queueing import assign_jobs, enqueue_assigned
from webapp.extensions import db
from webapp.notifications.plan_requests import plan_request
from webapp.notifications.planner import ADDRESS_FIELD, plan_messages
from webapp.notifications.rule_store import rules_for_event
from webapp.notifications.rules import RuleKey
from webapp.orders.models import Order

MAX_TEXT = 500


class ManualSendError(ValueError):
    """The manual send cannot be done as asked; the message says why."""


def _clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ManualSendError("Give a reason: it is kept in the audit log.")
    if len(reason) > MAX_TEXT:
        raise ManualSendError(f"Keep the reason under {MAX_TEXT} characters.")
    return reason


class AlreadySent(ManualSendError):
    """The same form was submitted again (double click, browser retry): it was sent once."""


def send_manual(store: Store, order: Order, user: User, status: str, channels: list[str], note: str | None,
                reason: str, send_token: str) -> list[Notification]:
    """Send a status message now. The Manual row of Customer Notifications decides which statuses
    and channels staff may send; `send_token`, one per rendered form, makes a resubmission a no-op."""
    reason = _clean_reason(reason)
    if not re.fullmatch(r"[0-9a-f]{32}", send_token or ""):
        raise ManualSendError("The form is missing its token; reload the page.")
    note = (note or "").strip() or None
    if note and len(note) > MAX_TEXT:
        raise ManualSendError(f"Keep the note under {MAX_TEXT} characters.")
    if not vocabulary.is_status(order.kind, status):
        raise ManualSendError("Choose which status message to send.")
    known = {c.code for c in rule_channels()}
    if not channels or not set(channels) <= known:
        raise ManualSendError("Choose at least one channel.")
    rule = rules_for_event(store.id, order.kind, "manual", status).get(RuleKey(order.kind,
                                                                              _rule_source(order), status))
    label = vocabulary.status_label(order.kind, status)
    if rule is None or not rule.active:
        raise ManualSendError(f"Staff sends of “{label}” are switched off: an owner can turn on the rule "
                              f"“{'Invoice' if order.kind == 'invoice' else 'Manual'} · {label}” in Customer "
                              "Notifications.")
    refused = sorted(set(channels) - rule.channels)
    if refused:
        raise ManualSendError(f"The “{label}” rule for staff sends does not include {', '.join(refused)}.")
    record(store.id, user.id, "notification.manual_send", f"Order {order.number}",
           new={"status": status, "channels": sorted(channels), "note": note}, reason=reason)
    request = plan_request(store, order, order.customer, order.kind, status, note=note, urgent=True)
    rows = add_planned(store_id=store.id, source="manual", planned=plan_messages(sorted(channels), request),
                       key_base=f"manual:{order.id}:{send_token}", reason=f"sent by {user.email}: {reason}"[:MAX_TEXT],
                       order_id=order.id, customer_id=order.customer_id)
    assign_jobs(rows)
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise AlreadySent("This notification was already sent (the form was submitted twice).") from error
    enqueue_assigned(rows)
    return rows


def resend(store: Store, original: Notification, user: User, reason: str) -> Notification:
    """Send a past notification's content again, to the customer's current address for the channel."""
    reason = _clean_reason(reason)
    if not original.body:
        raise ManualSendError("This notification has no content to resend (it was skipped or failed to render); "
                              "use “Send notification” on the order instead.")
    address = _current_address(original) or original.recipient
    if not address:
        raise ManualSendError("This notification has no recipient address, and the customer has none on file "
                              "for this channel.")
    entry = record(store.id, user.id, "notification.resent", f"Notification #{original.id}", reason=reason,
                   new={"channel": original.channel, "recipient": address})
    db.session.flush()
    copy = Notification(
        store_id=store.id, order_id=original.order_id, customer_id=original.customer_id, source="manual",
        message_type=original.message_type, channel=original.channel, priority=CRITICAL, locale=original.locale,
        recipient=address, subject=original.subject, body=original.body, status=PENDING,
        reason=f"resend of #{original.id} by {user.email}: {reason}"[:MAX_TEXT],
        idempotency_key=idempotency_key("resend", entry.id, original.id),
    )
    copy.events.append(NotificationEvent(kind="planned", detail=copy.reason))
    db.session.add(copy)
    assign_jobs([copy])
    db.session.commit()
    enqueue_assigned([copy])
    return copy


def _rule_source(order: Order) -> str:
    return vocabulary.INVOICE_SOURCE.code if order.kind == vocabulary.INVOICE else "manual"


def _current_address(original: Notification) -> str | None:
    if original.customer_id is None:
        return None
    customer = db.session.get(Customer, original.customer_id)
    field_name = ADDRESS_FIELD.get(original.channel)
    return getattr(customer, field_name, None) if customer and field_name else None
