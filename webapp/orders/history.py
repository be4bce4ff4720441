"""Questions about an order's history."""
from __future__ import annotations

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.orders.models import OrderStatusChange


def times_entered(order_id: int, status: str) -> int:
    """How often the order had already entered `status`: part of the idempotency key, so a second
    cancellation after a reopening notifies again, while the same cancellation twice does not."""
    return db.session.scalar(
        select(func.count()).select_from(OrderStatusChange)
        .where(OrderStatusChange.order_id == order_id, OrderStatusChange.to_status == status,
               OrderStatusChange.applied.is_(True))
    ) or 0
