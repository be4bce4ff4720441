"""Customers of a store and their push devices."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name; None: the store's
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166 alpha-2, from the last address seen
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)  # shopper groups, e.g. ["VIP", "Wholesale"]
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The customer's id in each source system: {"shopify": "207119551", "api": "crm-42"}.
    external_ids: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Marketing topics the shopper turned off in the preference centre (see consent.topics).
    muted_topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set by a GDPR erasure: the row stays (orders and counts keep pointing at it), its personal data is gone.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


class CustomerImport(db.Model):
    """A CSV upload of customers: previewed, then committed all-or-nothing by a job.

    The file is kept only until the import has run (or was refused); after that only its counts
    and errors remain, so no personal data outlives the import."""

    __tablename__ = "customer_imports"
    __table_args__ = (Index("ix_customer_imports_store_id_id", "store_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str | None] = mapped_column(Text)
    mapping: Mapped[dict | None] = mapped_column(JSON)  # CSV column -> customer field
    consent_source: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="previewed")  # previewed, queued, running, done, failed
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list | None] = mapped_column(JSON)  # [{"line": 7, "error": "..."}]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GdprRequest(db.Model):
    """A data export or an erasure of one customer, run as a job; the export's JSON is kept here
    for download (and deleted by an erasure)."""

    __tablename__ = "gdpr_requests"
    __table_args__ = (Index("ix_gdpr_requests_store_id_customer_id", "store_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))  # export, erasure
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, running, done, failed
    requested_by: Mapped[str] = mapped_column(String(64), default="")  # "staff:<user id>" or "api"
    result: Mapped[dict | None] = mapped_column(JSON)  # the export
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
