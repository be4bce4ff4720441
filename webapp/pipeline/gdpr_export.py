"""The JSON a customer gets from a GDPR data export: their profile and devices, consent now and its
history, suppressions of their addresses, orders with their history, every notification with the
message as rendered, and their in-app inbox. Staff identities and internal reasons are left out:
they are the store's data, not the customer's."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from webapp.consent.models import ChannelSuppression, ConsentEvent
from webapp.consent.state import consents_of
from webapp.customers.gdpr import profile_export, push_addresses
from webapp.customers.models import Customer
from webapp.dispatch.models import Notification
from webapp.extensions import db
from webapp.inbox.models import InboxMessage
from webapp.orders.models import Order, OrderStatusChange
from webapp.timeutil import utcnow

FORMAT = "notifyhub.gdpr-export.v1"


def export_document(customer: Customer, store_name: str) -> dict:
    return {
        "format": FORMAT, "generated_at": _iso(utcnow()), "store": store_name,
        "customer": profile_export(customer),
        "consent": consents_of(customer.id),
        "consent_history": _consent_history(customer.id),
        "suppressions": _suppressions(customer),
        "orders": _orders(customer.id),
        "notifications": _notifications(customer.id),
        "inbox": _inbox(customer.id),
    }


def _consent_history(customer_id: int) -> list[dict]:
    rows = db.session.scalars(select(ConsentEvent).where(ConsentEvent.customer_id == customer_id)
                              .order_by(ConsentEvent.id))
    return [{"at": _iso(e.at), "channel": e.channel, "address": e.address, "action": e.action, "source": e.source,
             "detail": e.detail, "ip": e.ip, "user_agent": e.user_agent} for e in rows]


def _suppressions(customer: Customer) -> list[dict]:
    addresses = [a for a in (customer.email, customer.phone, *push_addresses(customer.id)) if a]
    if not addresses:
        return []
    rows = db.session.scalars(select(ChannelSuppression).where(ChannelSuppression.store_id == customer.store_id,
                                                               ChannelSuppression.address.in_(addresses))
                              .order_by(ChannelSuppression.id))
    return [{"channel": s.channel, "address": s.address, "reason": s.reason, "since": _iso(s.created_at)}
            for s in rows]


def _orders(customer_id: int) -> list[dict]:
    orders = list(db.session.scalars(select(Order).where(Order.customer_id == customer_id).order_by(Order.id)))
    history: dict[int, list[dict]] = defaultdict(list)
    changes = db.session.scalars(select(OrderStatusChange).join(Order, OrderStatusChange.order_id == Order.id)
                                 .where(Order.customer_id == customer_id).order_by(OrderStatusChange.id))
    for change in changes:
        history[change.order_id].append({"at": _iso(change.occurred_at), "kind": change.event_kind,
                                         "from": change.from_status, "to": change.to_status,
                                         "applied": change.applied, "note": change.note})
    return [{"number": o.number, "kind": o.kind, "source": o.source, "status": o.status,
             "status_at": _iso(o.status_at), "total": str(o.total), "currency": o.currency, "lines": o.lines or [],
             "tracking": o.tracking, "created_at": _iso(o.created_at), "history": history[o.id]} for o in orders]


def _notifications(customer_id: int) -> list[dict]:
    rows = db.session.scalars(select(Notification).where(Notification.customer_id == customer_id)
                              .order_by(Notification.id))
    return [{"id": n.id, "message_type": n.message_type, "channel": n.channel, "recipient": n.recipient,
             "subject": n.subject, "body": n.body, "text": n.body_text, "link": n.link, "status": n.status,
             "created_at": _iso(n.created_at), "sent_at": _iso(n.sent_at)} for n in rows]


def _inbox(customer_id: int) -> list[dict]:
    rows = db.session.scalars(select(InboxMessage).where(InboxMessage.customer_id == customer_id)
                              .order_by(InboxMessage.id))
    return [{"title": m.title, "body": m.body, "link": m.link, "created_at": _iso(m.created_at),
             "read_at": _iso(m.read_at)} for m in rows]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
