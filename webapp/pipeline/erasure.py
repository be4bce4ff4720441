"""GDPR erasure of one customer, in one transaction: either everything below happens or nothing.

Rows that belong to the customer (their orders, notifications, events, consent history) keep what
counts (totals, statuses, timestamps) and lose what identifies them: fixed markers where a column
is wholly theirs (recipient, rendered message, raw webhook), redaction of their emails, phones and
names (a name part as a whole word) where a column also says other things (notes, reasons,
timelines). Store-wide records that may quote them (audit log, API answers, alerts, imports,
unlinked events, other addresses' suppressions) are searched for their emails, phones and full
names only, so somebody else called Bob keeps his records. Suppressions of their addresses stay
as one-way digests, with their reasons (a bounce quotes the address) redacted.

Emails, phones and names are gathered first from the customer, their notifications, their consent
history and their orders' raw webhooks, so an address they used before, or the name on a shipping
label, is found too. Work is set-based: UPDATEs over id lists, and only rows that may mention the
customer (a LIKE on their needles) are read into Python.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import JSON, String, cast, delete, literal, or_, select, update

from webapp.audit.models import AuditEntry, record
from webapp.campaigns.models import EXCLUDED, WAITING, CampaignRecipient
from webapp.channels.models import SandboxMessage
from webapp.consent.models import ChannelSuppression, ConsentEvent, CustomerConsent
from webapp.customers import gdpr
from webapp.customers.models import Customer, GdprRequest
from webapp.customers.redaction import PersonalValues, Redactor, values_in_payload
from webapp.customers.scrub import mentioning_any, update_changed
from webapp.dispatch.models import OPEN_STATUSES, SKIPPED, EscalationAlert, Notification, NotificationEvent
from webapp.events.models import IdempotentResponse, InboundEvent
from webapp.extensions import db
from webapp.inbox.models import InboxMessage
from webapp.orders.models import Order, OrderStatusChange
from webapp.promotions.models import Coupon, CouponRedemption, GiftCard
from webapp.timeutil import utcnow

CHUNK = 500  # ids per IN list: well inside every database's limit on bound parameters
ERASED_PAYLOAD = {"erased": True}
CANCELLED = "not sent: the customer's data was erased"
EMAIL_CHANNELS = ("email",)
PHONE_CHANNELS = ("sms", "whatsapp")


@dataclass
class Scope:
    """What belongs to the customer, and how to find and redact them elsewhere."""

    store_id: int
    customer_id: int
    order_ids: list[int]
    notification_ids: list[int]
    addresses: list[str]  # as the outbox, consent and suppressions write them
    values: PersonalValues
    own: Redactor  # for the customer's own rows: name parts too
    wide: Redactor  # for store-wide rows: emails, phones and full names only


def erase_customer(request_id: int) -> GdprRequest | None:
    """Run an erasure request. None when it is not queued (done already, or taken by another job).
    Raises GdprError for a request that cannot run; the caller rolls back and records it."""
    request = gdpr.start(request_id, gdpr.ERASURE)
    if request is None:
        return None
    customer = gdpr.customer_for(request, lock=True)
    scope = _scope(customer)
    counts = {"orders": len(scope.order_ids), "notifications": len(scope.notification_ids)}
    _erase_outbox(scope)
    _erase_orders(scope)
    _erase_consent(scope)
    _erase_promotions(scope)
    _erase_store_wide(scope)
    gdpr.erase_requests(customer.id, scope.own)
    gdpr.erase_from_imports(scope.store_id, scope.wide)
    gdpr.erase_profile(customer, utcnow())
    # The one record that remains: which customer, by which request; nothing about who they were.
    record(request.store_id, _user_id(request.requested_by), "customer.erased", f"Customer #{customer.id}",
           new={"request": request.id, **counts})
    gdpr.finish(request)
    db.session.commit()
    return request


def _scope(customer: Customer) -> Scope:
    store_id, customer_id = customer.store_id, customer.id
    order_ids = list(db.session.scalars(select(Order.id).where(Order.customer_id == customer_id)))
    values = gdpr.personal_values(customer) | _values_in_payloads(order_ids) | _values_in_history(customer_id)
    addresses = sorted({*values.emails, *(e.lower() for e in values.emails), *values.phones,
                        *gdpr.push_addresses(customer_id), f"customer:{customer_id}"})
    notification_ids = _notification_ids(store_id, customer_id, order_ids, addresses)
    return Scope(store_id, customer_id, order_ids, notification_ids, addresses, values,
                 own=Redactor(values), wide=Redactor(values, name_parts=False))


def _values_in_payloads(order_ids: list[int]) -> PersonalValues:
    found = PersonalValues()
    for chunk in _chunks(order_ids):
        for payload in db.session.scalars(select(InboundEvent.payload).where(InboundEvent.order_id.in_(chunk))):
            found |= values_in_payload(payload)
    return found


def _values_in_history(customer_id: int) -> PersonalValues:
    """Addresses the customer had before: in their notifications and their consent history."""
    used = db.session.execute(select(Notification.channel, Notification.recipient)
                              .where(Notification.customer_id == customer_id).distinct()).all()
    used += db.session.execute(select(ConsentEvent.channel, ConsentEvent.address)
                               .where(ConsentEvent.customer_id == customer_id).distinct()).all()
    return PersonalValues.of(emails=[a for channel, a in used if channel in EMAIL_CHANNELS],
                             phones=[a for channel, a in used if channel in PHONE_CHANNELS])


def _notification_ids(store_id: int, customer_id: int, order_ids: list[int], addresses: list[str]) -> list[int]:
    ids = set(db.session.scalars(select(Notification.id).where(Notification.customer_id == customer_id)))
    for chunk in _chunks(order_ids):
        ids.update(db.session.scalars(select(Notification.id).where(Notification.order_id.in_(chunk))))
    ids.update(db.session.scalars(select(Notification.id).where(Notification.store_id == store_id,
                                                                Notification.recipient.in_(addresses))))
    return sorted(ids)


def _erase_outbox(scope: Scope) -> None:
    """Their messages keep type, channel, status and times; recipient and rendered content go. A message
    still waiting is not sent at all: it would go to an address that no longer exists here."""
    now = utcnow()
    for chunk in _chunks(scope.notification_ids):
        db.session.execute(update(Notification).where(Notification.id.in_(chunk),
                                                      Notification.status.in_(OPEN_STATUSES))
                           .values(status=SKIPPED, error=CANCELLED, finished_at=now, next_attempt_at=None))
        _redact(Notification, (Notification.reason, Notification.error), Notification.id.in_(chunk), scope.own)
        db.session.execute(update(Notification).where(Notification.id.in_(chunk)).values(
            recipient=gdpr.ERASED_ADDRESS, subject=None, body="", body_text=None, link=None, headers=None,
            substitutions=None))
        _redact(NotificationEvent, (NotificationEvent.detail,), NotificationEvent.notification_id.in_(chunk),
                scope.own)
        db.session.execute(update(SandboxMessage).where(SandboxMessage.notification_id.in_(chunk))
                           .values(recipient=gdpr.ERASED_ADDRESS, subject=None, body=""))
        db.session.execute(delete(InboxMessage).where(InboxMessage.notification_id.in_(chunk)))
    db.session.execute(update(SandboxMessage).where(SandboxMessage.store_id == scope.store_id,
                                                    SandboxMessage.recipient.in_(scope.addresses))
                       .values(recipient=gdpr.ERASED_ADDRESS, subject=None, body=""))
    db.session.execute(delete(InboxMessage).where(InboxMessage.customer_id == scope.customer_id))
    # In campaigns: no address or name kept, and never sent to if their campaign is still sending.
    db.session.execute(update(CampaignRecipient).where(CampaignRecipient.customer_id == scope.customer_id)
                       .values(address=gdpr.ERASED_ADDRESS, name="", reason="erased (GDPR)"))
    db.session.execute(update(CampaignRecipient).where(CampaignRecipient.customer_id == scope.customer_id,
                                                       CampaignRecipient.status == WAITING).values(status=EXCLUDED))


def _erase_orders(scope: Scope) -> None:
    """Orders keep number, status, total and lines (what was sold); tracking goes (a carrier's page
    shows the delivery address for it), and so do the raw webhooks."""
    for chunk in _chunks(scope.order_ids):
        db.session.execute(update(Order).where(Order.id.in_(chunk)).values(tracking=None))
        _redact(Order, (Order.lines,), Order.id.in_(chunk), scope.own)
        _redact(OrderStatusChange, (OrderStatusChange.note,), OrderStatusChange.order_id.in_(chunk), scope.own)
        db.session.execute(update(InboundEvent).where(InboundEvent.order_id.in_(chunk)).values(payload=ERASED_PAYLOAD))
        _redact(InboundEvent, (InboundEvent.detail,), InboundEvent.order_id.in_(chunk), scope.own)


def _erase_promotions(scope: Scope) -> None:
    """Gift cards keep their balance and ledger (money owed), not who they were for or the giver's
    words; a once-per-customer coupon use stays counted against the customer's id, not their email."""
    theirs = GiftCard.store_id == scope.store_id, or_(GiftCard.customer_id == scope.customer_id,
                                                      GiftCard.recipient_email.in_(scope.addresses))
    db.session.execute(update(GiftCard).where(*theirs).values(recipient_email=None, message=None))
    coupons = select(Coupon.id).where(Coupon.store_id == scope.store_id)
    db.session.execute(update(CouponRedemption).where(CouponRedemption.coupon_id.in_(coupons),
                                                      CouponRedemption.once_key.in_(scope.addresses))
                       .values(once_key=f"customer:{scope.customer_id}"))


def _erase_consent(scope: Scope) -> None:
    """The history stays as counts and dates without address or evidence; the current state goes with
    the person; suppressions of their addresses become digests, so they hold if the address returns."""
    theirs = or_(ConsentEvent.customer_id == scope.customer_id,
                 (ConsentEvent.store_id == scope.store_id) & ConsentEvent.address.in_(scope.addresses))
    _redact(ConsentEvent, (ConsentEvent.detail, ConsentEvent.actor), theirs, scope.own)
    db.session.execute(update(ConsentEvent).where(theirs).values(address=gdpr.ERASED_ADDRESS, ip=None,
                                                                 user_agent=None))
    db.session.execute(delete(CustomerConsent).where(CustomerConsent.customer_id == scope.customer_id))
    _digest_suppressions(scope)


def _digest_suppressions(scope: Scope) -> None:
    """A suppression's reason may quote the address (a bounce's "550 5.1.1 <bob@...> user unknown"):
    it is redacted like the rest of their rows, and kept, since it says why the digest is blocked."""
    rows = db.session.scalars(select(ChannelSuppression).where(ChannelSuppression.store_id == scope.store_id,
                                                               ChannelSuppression.address.in_(scope.addresses))).all()
    taken = {tuple(row) for row in db.session.execute(select(ChannelSuppression.channel, ChannelSuppression.address)
                                                      .where(ChannelSuppression.store_id == scope.store_id,
                                                             ChannelSuppression.address.like("erased:%")))}
    for row in rows:
        digest = gdpr.erased_address(scope.store_id, row.channel, row.address)
        if (row.channel, digest) in taken:  # the same address in another spelling: one digest suffices
            db.session.delete(row)
        else:
            row.address, row.reason = digest, _fit(scope.own.text(row.reason), ChannelSuppression.reason)
            taken.add((row.channel, digest))
    db.session.flush()


def _erase_store_wide(scope: Scope) -> None:
    """Records of the whole store that may quote the customer, searched for them."""
    wide, own = scope.wide, scope.own
    _redact(AuditEntry, (AuditEntry.target, AuditEntry.old, AuditEntry.new, AuditEntry.reason),
            AuditEntry.store_id == scope.store_id, wide, search=True)
    # Entries about the customer, their orders or their messages: name parts too.
    _redact(AuditEntry, (AuditEntry.target, AuditEntry.old, AuditEntry.new, AuditEntry.reason),
            (AuditEntry.store_id == scope.store_id) & _about_customer(scope), own)
    _redact(IdempotentResponse, (IdempotentResponse.body,), IdempotentResponse.store_id == scope.store_id, wide,
            search=True)
    _redact(EscalationAlert, (EscalationAlert.cause, EscalationAlert.samples, EscalationAlert.error),
            EscalationAlert.store_id == scope.store_id, wide, search=True)
    unlinked = (InboundEvent.store_id == scope.store_id) & InboundEvent.order_id.is_(None)
    _redact(InboundEvent, (InboundEvent.payload, InboundEvent.detail), unlinked, wide, search=True,
            json=lambda payload: ERASED_PAYLOAD if wide.mentions(payload) else payload)
    others = (Notification.store_id == scope.store_id) & Notification.customer_id.is_(None)
    _redact(Notification, (Notification.recipient, Notification.subject, Notification.body, Notification.body_text,
                           Notification.reason, Notification.error, Notification.headers), others, wide, search=True)
    _redact(NotificationEvent, (NotificationEvent.detail,),
            NotificationEvent.notification_id.in_(select(Notification.id).where(others)), wide, search=True)
    _redact(SandboxMessage, (SandboxMessage.recipient, SandboxMessage.subject, SandboxMessage.body),
            SandboxMessage.store_id == scope.store_id, wide, search=True)
    # Another address's bounce may quote theirs (a forwarding alias).
    _redact(ChannelSuppression, (ChannelSuppression.reason,), ChannelSuppression.store_id == scope.store_id, wide,
            search=True, text=lambda reason: _fit(wide.text(reason), ChannelSuppression.reason))


def _about_customer(scope: Scope):
    """Audit entries whose target is the customer, one of their orders or one of their notifications."""
    orders = select(literal("Order ") + Order.number).where(Order.customer_id == scope.customer_id)
    notifications = select(literal("Notification #") + cast(Notification.id, String)).where(
        Notification.customer_id == scope.customer_id)
    return or_(AuditEntry.target.in_([f"Customer #{scope.customer_id}", f"customer:{scope.customer_id}"]),
               AuditEntry.target.in_(orders), AuditEntry.target.in_(notifications))


def _redact(model, columns: Iterable, where, redactor: Redactor, *, search: bool = False, json=None,
            text=None) -> int:
    """Redact the columns of the rows matching `where`; with `search`, only rows whose text may mention
    the customer are read (the store-wide tables are large, the customer's own rows are not)."""
    columns = list(columns)
    if search:
        where = where & mentioning_any(columns, redactor.needles())
    rows = db.session.execute(select(model.id, *columns).where(where)).all()
    transforms = {c.key: (json or redactor.json) if _is_json(c) else (text or redactor.text) for c in columns}
    return update_changed(model, transforms, rows)


def _fit(value: str | None, column) -> str | None:
    """The marker is longer than a short name part ("Bob"): a bounded column keeps its bound."""
    length = getattr(column.type, "length", None)
    return value[:length] if value and length else value


def _is_json(column) -> bool:
    return isinstance(column.type, JSON)


def _user_id(requested_by: str) -> int | None:
    kind, _, value = requested_by.partition(":")
    return int(value) if kind == "staff" and value.isdigit() else None


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]
