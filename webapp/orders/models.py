"""Orders and invoices, and every status change those went through."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.customers.models import Customer
from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow

if TYPE_CHECKING:
    from webapp.events.models import InboundEvent


class Order(db.Model):
    """An order, or an invoice (kind="invoice"), as last reported by its source."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("store_id", "source", "kind", "external_id"),
        Index("ix_orders_store_id_created_at", "store_id", "created_at"),
        Index("ix_orders_store_id_number", "store_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(16), default="order")
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    # When the source says the current status happened; older events never move it back.
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    lines: Mapped[list | None] = mapped_column(JSON)
    tracking: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer | None] = relationship()


class OrderStatusChange(db.Model):
    """One line of an order's history: a status event, applied or (if stale) only recorded."""

    __tablename__ = "order_status_changes"
    __table_args__ = (Index("ix_order_status_changes_order_id_id", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    event_kind: Mapped[str] = mapped_column(String(16))  # order, invoice, payment, refund
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    applied: Mapped[bool] = mapped_column(Boolean, default=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    inbound_event_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_events.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship()
    inbound_event: Mapped[InboundEvent | None] = relationship()
