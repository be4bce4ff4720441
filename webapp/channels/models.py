"""A store's provider accounts per channel, and what the sandbox provider 'sent'."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow


class ProviderConfig(db.Model):
    """One provider account of a store for one channel; `position` orders the failover chain."""

    __tablename__ = "provider_configs"
    __table_args__ = (Index("ix_provider_configs_store_id_channel", "store_id", "channel", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    channel: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    base_url: Mapped[str | None] = mapped_column(String(500))
    settings: Mapped[dict | None] = mapped_column(JSON)  # non-secret fields
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)  # JSON of secret fields, Fernet-encrypted
    # The account's sending limits over rolling windows: [{"per": "second"|"minute"|"day", "limit": n}],
    # shared by every worker (webapp/channels/rate_limit.py).
    rate_limits: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxMessage(db.Model):
    """What the sandbox provider 'sent': shown on the Outbox page like a mail catcher."""

    __tablename__ = "sandbox_messages"
    __table_args__ = (Index("ix_sandbox_messages_store_id_id", "store_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
