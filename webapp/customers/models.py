"""Customers of a store and their push devices."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow


class Customer(db.Model):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_store_id_email", "store_id", "email"),
        Index("ix_customers_store_id_phone", "store_id", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    locale: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerDevice(db.Model):
    """A push token of a customer's app install: FCM (Android, web) or APNs (iOS)."""

    __tablename__ = "customer_devices"
    __table_args__ = (UniqueConstraint("store_id", "token"),
                      Index("ix_customer_devices_customer_id_id", "customer_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    platform: Mapped[str] = mapped_column(String(8))  # "fcm" or "apns"
    token: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
