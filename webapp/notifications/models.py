"""Stored Customer Notifications rules, one row per store × kind × source × status."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.notifications.rules import RuleKey, RuleState
from webapp.orders.models import OrderStatusChange
from webapp.timeutil import utcnow


class NotificationRule(db.Model):
    __tablename__ = "notification_rules"
    __table_args__ = (UniqueConstraint("store_id", "kind", "source", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    # Channel codes from the channel registry, e.g. ["email", "sms"].
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def key(self) -> RuleKey:
        return RuleKey(self.kind, self.source, self.status)

    @property
    def state(self) -> RuleState:
        return RuleState(active=self.active, channels=frozenset(self.channels or ()))


# Notification statuses. pending → sending → sent → delivered, with retrying between attempts;
# skipped/suppressed/failed are final and say why in `error`.
PENDING = "pending"
SENDING = "sending"
RETRYING = "retrying"
SENT = "sent"
DELIVERED = "delivered"
FAILED = "failed"
SKIPPED = "skipped"
SUPPRESSED = "suppressed"
STATUSES = (PENDING, SENDING, RETRYING, SENT, DELIVERED, FAILED, SKIPPED, SUPPRESSED)
OPEN_STATUSES = (PENDING, SENDING, RETRYING)


class Notification(db.Model):
    """The outbox: one message to one recipient on one channel, and what became of it."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_store_id_id", "store_id", "id"),
        Index("ix_notifications_store_id_status_id", "store_id", "status", "id"),
        Index("ix_notifications_store_id_channel_id", "store_id", "channel", "id"),
        Index("ix_notifications_store_id_message_type_id", "store_id", "message_type", "id"),
        Index("ix_notifications_store_id_created_at", "store_id", "created_at"),
        Index("ix_notifications_order_id", "order_id"),
        Index("ix_notifications_customer_id_id", "customer_id", "id"),
        Index("ix_notifications_status_queued_at", "status", "queued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    status_change_id: Mapped[int | None] = mapped_column(ForeignKey("order_status_changes.id"))
    source: Mapped[str] = mapped_column(String(32))  # where the triggering event came from
    message_type: Mapped[str] = mapped_column(String(64))  # e.g. order.cancelled, invoice.closed
    channel: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))  # critical, transactional, marketing
    locale: Mapped[str] = mapped_column(String(16), default="en")
    recipient: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str | None] = mapped_column(String(500))  # why it was sent: the rule, or staff's reason
    attempts: Mapped[int] = mapped_column(default=0)
    provider_index: Mapped[int] = mapped_column(default=0)  # which provider of the channel's chain is next
    provider_attempts: Mapped[int] = mapped_column(default=0)  # attempts on that provider
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[NotificationEvent]] = relationship(order_by="NotificationEvent.id",
                                                           back_populates="notification")
    status_change: Mapped[OrderStatusChange | None] = relationship()


class NotificationEvent(db.Model):
    """The timeline of a notification: planned, queued, each attempt, sent, delivered, failed."""

    __tablename__ = "notification_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str | None] = mapped_column(String(32))

    notification: Mapped[Notification] = relationship(back_populates="events")


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


class ChannelSuppression(db.Model):
    """An address that must not be messaged on a channel: opted out, bounced or complained."""

    __tablename__ = "channel_suppressions"
    __table_args__ = (UniqueConstraint("store_id", "channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EscalationAlert(db.Model):
    """Messages that failed on every provider, grouped by cause into one alert to the ops channel.

    A group stays `open` for a short window collecting failures of the same cause; one job then
    sends a single alert for all of them (sent / failed)."""

    __tablename__ = "escalation_alerts"
    __table_args__ = (Index("ix_escalation_alerts_store_id_group_key_status", "store_id", "group_key", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    group_key: Mapped[str] = mapped_column(String(64))  # digest of the cause
    channel: Mapped[str] = mapped_column(String(16))  # the customer channel that failed
    cause: Mapped[str] = mapped_column(Text)  # human-readable: which providers failed how
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, sending, sent, failed
    count: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # tries to send the alert
    # Up to a few failed notifications: [{"notification_id", "order", "error"}]
    samples: Mapped[list | None] = mapped_column(JSON)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    # "<store>:<group_key>" while the group is open, NULL after: the unique constraint makes
    # concurrent workers join one open group instead of opening two.
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)


class ProcessedCallback(db.Model):
    """Provider callbacks already applied, by the provider's own event id, so a replay changes nothing."""

    __tablename__ = "processed_callbacks"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
