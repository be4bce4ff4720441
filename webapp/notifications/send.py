"""Sending any message type to a customer through the store's routing: payment and shipping
updates from events, password resets and GDPR notices from the API and from jobs.

One commit writes the notifications and their queueing; the same `key` twice plans nothing new
(the outbox's unique idempotency key), so a retried request or job sends once.
"""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.accounts.models import Store
from webapp.customers.models import Customer
from webapp.dispatch.models import Notification
from webapp.dispatch.outbox import add_planned, idempotency_key
from webapp.dispatch.queueing import assign_jobs, enqueue_assigned
from webapp.extensions import db
from webapp.notifications.plan_requests import message_request, recipient_of
from webapp.notifications.planner import plan_routed
from webapp.notifications.route_store import store_route
from webapp.orders.models import Order
from webapp.templating.catalog import CUSTOMER_CHANNELS


def plan_routed_message(store: Store, customer: Customer | None, message_type: str, *, key: str, reason: str,
                        source: str, data: Mapping | None = None, order: Order | None = None,
                        status_change=None) -> list[Notification]:
    """Add the routed notifications to the session (the caller commits, then enqueue_assigned)."""
    route = store_route(store.id, message_type)
    request = message_request(store, customer, message_type, data, order=order)
    rows = add_planned(store_id=store.id, source=source, planned=plan_routed(route, request),
                       key_base=_key_base(store.id, key), reason=f"{reason} · routing: {route.describe()}"[:500],
                       order_id=order.id if order else None, customer_id=customer.id if customer else None,
                       status_change=status_change)
    assign_jobs(rows)
    return rows


def send_message(store: Store, customer: Customer | None, message_type: str, *, key: str, reason: str,
                 source: str = "api", data: Mapping | None = None, order: Order | None = None) -> list[Notification]:
    """Plan, commit and enqueue. When `key` was used before, answers the notifications it made then."""
    existing = already_sent(store.id, customer, key)
    if existing:
        return existing
    rows = plan_routed_message(store, customer, message_type, key=key, reason=reason, source=source, data=data,
                               order=order)
    try:
        db.session.commit()
    except IntegrityError:  # the same key raced in concurrently: it planned them
        db.session.rollback()
        return already_sent(store.id, customer, key)
    enqueue_assigned(rows)
    return rows


def already_sent(store_id: int, customer: Customer | None, key: str) -> list[Notification]:
    """Notifications an earlier call with this key made for this customer. The outbox key digests
    the key, the channel and the address, so each channel's candidate is rebuilt from the customer."""
    recipient = recipient_of(customer, with_consent=False)
    base = _key_base(store_id, key)
    candidates = [idempotency_key(base, channel, recipient.address(channel) or "") for channel in CUSTOMER_CHANNELS]
    return list(db.session.scalars(select(Notification).where(Notification.store_id == store_id,
                                                              Notification.idempotency_key.in_(candidates))
                                   .order_by(Notification.id)))


def _key_base(store_id: int, key: str) -> str:
    return f"{store_id}:message:{key}"
