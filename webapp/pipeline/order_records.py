"""Orders from normalized events: upserting them, and applying status changes in time order."""
from __future__ import annotations

from dataclasses import asdict
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import select

from webapp.accounts.models import Store
from webapp.customers.models import Customer
from webapp.events.normalized import INVOICE, ORDER, NormalizedEvent, PayloadError
from webapp.extensions import db
from webapp.orders.models import Order, OrderStatusChange
from webapp.orders.ordering import supersedes

CENT = Decimal("0.01")


def upsert_order(store: Store, event: NormalizedEvent, customer: Customer | None) -> tuple[Order, bool]:
    """The event's order (or invoice), locked for update where the database can. Returns (order, created)."""
    kind = INVOICE if event.kind == INVOICE else ORDER
    query = select(Order).where(Order.store_id == store.id, Order.source == event.source, Order.kind == kind,
                                Order.external_id == event.external_id)
    order = db.session.scalar(query.with_for_update())
    created = order is None
    if created:
        order = Order(store_id=store.id, source=event.source, kind=kind, external_id=event.external_id,
                      number=event.number or event.external_id, status="", currency=event.currency)
        db.session.add(order)
    if created or customer is not None and order.customer_id is None:
        order.customer = customer
    if created:
        update_details(order, event)
    return order, created


def update_details(order: Order, event: NormalizedEvent) -> None:
    """Number, lines, total and tracking from an event that describes the whole order. Called for
    new orders and for events that moved the order, never for stale or partial ones."""
    if event.number:
        order.number = event.number
    if event.tracking:
        order.tracking = asdict(event.tracking)
    if not event.whole_order:
        return
    if event.lines:
        order.lines = [{"name": line.name, "quantity": line.quantity, "price": str(line.price), "sku": line.sku}
                       for line in event.lines]
    order.total, order.currency = _money(event.total), event.currency


def _money(amount: Decimal) -> Decimal:
    """Cents, as the column stores them (sources send 129.5000 or 129.5)."""
    try:
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as error:
        raise PayloadError(f"amount {amount} is out of range") from error


def apply_status(order: Order, event: NormalizedEvent, inbound_event=None,
                 user_id: int | None = None) -> OrderStatusChange | None:
    """Record the event in the order's history; move the order only forward in time.

    Returns the history row, or None when the order already has this status (nothing happened).
    Payment and refund events go into the history without changing the order's status.
    """
    moves_status = event.kind in (ORDER, INVOICE)
    if moves_status and order.status == event.status:
        if order.status_at is None or event.occurred_at > order.status_at:
            # A later report of the same status: nothing happened, but an event from in between
            # must no longer beat it. Not a change, so nothing is recorded or notified.
            order.status_at = event.occurred_at
        return None
    # Stale: an older event, or one at the same instant that is no step forward (orders/ordering.py).
    stale = moves_status and not supersedes(order.kind, event.status, event.occurred_at, order.status or None,
                                            order.status_at)
    change = OrderStatusChange(store_id=order.store_id, order=order, event_kind=event.kind,
                               from_status=order.status or None, to_status=event.status, applied=not stale,
                               occurred_at=event.occurred_at, inbound_event=inbound_event,
                               user_id=user_id, note=event.note)
    db.session.add(change)
    if moves_status and not stale:
        order.status, order.status_at = event.status, event.occurred_at
    return change
