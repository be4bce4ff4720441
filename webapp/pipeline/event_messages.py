"""Messages events cause that are not order statuses: payment confirmed or failed, refund processed,
and carriers' shipping updates. They go through the store's routing (notifications/routing.py),
not the Customer Notifications rules, in the transaction of the event that caused them.

Each is keyed by its order and what happened (payment events by the source's transaction id, else
by how often the order had that payment status before; shipping updates by carrier status and the
shipment, else the order's current spell in its status), so the same news told twice, by a retried
webhook or by two topics, reaches the customer once.
"""
from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select

from webapp import vocabulary
from webapp.accounts.models import Store
from webapp.customers.models import Customer
from webapp.dispatch.models import Notification
from webapp.events.normalized import (
    OUT_FOR_DELIVERY,
    PAYMENT,
    PAYMENT_CONFIRMED,
    PAYMENT_FAILED,
    REFUND,
    REFUND_PROCESSED,
    SHIPMENT_STATUSES,
    NormalizedEvent,
)
from webapp.extensions import db
from webapp.notifications.send import already_sent, plan_routed_message
from webapp.orders.models import Order, OrderStatusChange
from webapp.templating import catalog

PAYMENT_TYPES = {PAYMENT_CONFIRMED: "payment.confirmed", PAYMENT_FAILED: "payment.failed",
                 REFUND_PROCESSED: "refund.processed"}


def message_type_for(event: NormalizedEvent) -> str | None:
    """The routed message type this event tells the customer about, if any."""
    if event.kind in (PAYMENT, REFUND):
        return PAYMENT_TYPES.get(event.status)
    if event.shipment is not None and event.shipment.status in SHIPMENT_STATUSES:
        return "shipping.out_for_delivery" if event.shipment.status == OUT_FOR_DELIVERY else "shipping.update"
    return None


def message_data(event: NormalizedEvent, order: Order) -> dict:
    """The type's own variables (payment.*, shipment.*) from the event; order.* comes from the order."""
    if event.shipment is not None:
        shipment = event.shipment
        return {"shipment": {"status": shipment.description or SHIPMENT_STATUSES[shipment.status],
                             "eta": shipment.eta}}
    payment = event.payment
    amount = payment.amount if payment and payment.amount is not None else \
        (event.total if not event.whole_order else order.total)
    return {"payment": {"amount": str(amount), "method": payment.method if payment else None,
                        "reason": payment.reason if payment else None}}


def message_key(event: NormalizedEvent, order: Order, occurrence: int) -> str:
    """`occurrence`: how often the order had entered the event's status before this event; for a
    shipping update, before the order's current spell in that status (shipping_occurrence)."""
    if event.shipment is not None:
        # One update per shipment and carrier status: carriers repeat "in transit" at every hub. Without
        # a shipment id, one per carrier status while the order stays in its status (a scan's time
        # would make every repeated scan news); an order shipped again is news again.
        if event.shipment.reference:
            return f"{order.id}:shipping:{event.shipment.reference}:{event.shipment.status}"
        return f"{order.id}:shipping-{event.status}:{occurrence}:{event.shipment.status}"
    if event.payment is not None and event.payment.reference:  # the same transaction told twice is one
        return f"{order.id}:{event.kind}:{event.status}:{event.payment.reference}"
    return f"{order.id}:{event.kind}:{event.status}:{occurrence}"


def plan_event_messages(store: Store, event: NormalizedEvent, order: Order, customer: Customer | None,
                        change: OrderStatusChange | None, occurrence: int) -> list[Notification]:
    """Add the event's routed notifications to the session; [] when it tells the customer nothing
    new. `change` is the event's history row (None when the order already had its status)."""
    msg_type = message_type_for(event)
    if msg_type is None or (event.kind in (PAYMENT, REFUND) and _repeats_last_report(event, order, change)):
        return []
    customer = customer or order.customer  # payment transactions and carrier scans name no customer
    if event.shipment is not None:
        occurrence = shipping_occurrence(occurrence, change)
    key = message_key(event, order, occurrence)
    if already_sent(store.id, customer, key):
        return []  # told by another topic or an earlier delivery
    if event.shipment is not None and event.tracking and change is None:
        order.tracking = asdict(event.tracking)  # a later scan of the status the order has: newest tracking
    name = catalog.get(msg_type).name
    return plan_routed_message(store, customer, msg_type, key=key, source=event.source, order=order,
                               data=message_data(event, order), status_change=change,
                               reason=f"{vocabulary.source_label(event.source)} · {name} ({event.topic})")


def shipping_occurrence(occurrence: int, change: OrderStatusChange | None) -> int:
    """Which spell of the order in the event's status a scan belongs to. `occurrence` counts the times
    the order entered the status before this event: a scan that moved the order there starts spell
    `occurrence`; a scan of the status the order already has (no change) belongs to the spell before."""
    return occurrence if change is not None else max(occurrence - 1, 0)


def _repeats_last_report(event: NormalizedEvent, order: Order, change: OrderStatusChange | None) -> bool:
    """A source that re-sends the whole order on every edit (WooCommerce) reports a failed payment
    again with each edit; the same payment status straight after itself is not news."""
    if not event.repeats_state or change is None:
        return False
    db.session.flush()  # this event's history row gets its id
    previous = db.session.execute(
        select(OrderStatusChange.event_kind, OrderStatusChange.to_status)
        .where(OrderStatusChange.order_id == order.id, OrderStatusChange.id < change.id)
        .order_by(OrderStatusChange.id.desc()).limit(1)).first()
    return previous is not None and tuple(previous) == (event.kind, event.status)
