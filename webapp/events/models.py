"""Every event received from a source, kept for deduplication and for the record."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow

PROCESSED = "processed"  # applied to the order (and may have planned notifications)
STALE = "stale"  # older than the order's current status: recorded, not applied
IGNORED = "ignored"  # no status change or a topic we do not act on
WAITING = "waiting"  # needs more data from the source first (BigCommerce order fetch)
FAILED = "failed"


class InboundEvent(db.Model):
    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("store_id", "source", "dedupe_key"),
        Index("ix_inbound_events_store_id_id", "store_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    source: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16), default=PROCESSED)
    detail: Mapped[str | None] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    payload: Mapped[dict | None] = mapped_column(JSON)


class IntegrationSecret(db.Model):
    """A source's signing secret (and settings) for one store, encrypted at rest."""

    __tablename__ = "integration_secrets"
    __table_args__ = (UniqueConstraint("store_id", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    source: Mapped[str] = mapped_column(String(32))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    secret_hint: Mapped[str] = mapped_column(String(16))
    # Non-secret settings (e.g. BigCommerce store hash, API base URL) and, encrypted, an API token.
    settings: Mapped[dict | None] = mapped_column(JSON)
    api_token_encrypted: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ApiKey(db.Model):
    """A store's API key. Only a SHA-256 of the key is kept; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotentResponse(db.Model):
    """What POST /api/v1/events answered for an Idempotency-Key, so a retry gets the same answer."""

    __tablename__ = "idempotent_responses"
    __table_args__ = (UniqueConstraint("store_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column()
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
