"""The outbox: every message planned for one recipient on one channel, its timeline, and the
escalation alerts raised when a channel failed on every provider."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.orders.models import OrderStatusChange
from webapp.timeutil import utcnow

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
        # Partial: most messages come from rules and have neither, and every index a status update
        # must maintain costs the hot path (PostgreSQL CPU per delivery, measured in bench/).
        Index("ix_notifications_campaign_id", "campaign_id", postgresql_where=text("campaign_id IS NOT NULL"),
              sqlite_where=text("campaign_id IS NOT NULL")),
        Index("ix_notifications_automation_id", "automation_id", postgresql_where=text("automation_id IS NOT NULL"),
              sqlite_where=text("automation_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    status_change_id: Mapped[int | None] = mapped_column(ForeignKey("order_status_changes.id"))
    # What planned the message when it was not an order rule or staff: a campaign or an automation.
    # Plain ids for now; each gets its foreign key with the table that owns it.
    campaign_id: Mapped[int | None] = mapped_column()
    automation_id: Mapped[int | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(32))  # where the triggering event came from
    message_type: Mapped[str] = mapped_column(String(64))  # e.g. order.cancelled, invoice.closed
    channel: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))  # critical, transactional, marketing
    locale: Mapped[str] = mapped_column(String(16), default="en")
    recipient: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str | None] = mapped_column(Text)  # an email's plain-text part
    link: Mapped[str | None] = mapped_column(String(2000))  # push and in-app: where a tap leads
    # Headers sent with the message (email: List-Unsubscribe and List-Unsubscribe-Post on marketing).
    headers: Mapped[dict | None] = mapped_column(JSON)
    # Campaign mail: {token: value} that turn the campaign's shared rendering into this body, so a
    # batch API (SendGrid substitutions, Mailgun recipient variables) sends many in one request.
    substitutions: Mapped[dict | None] = mapped_column(JSON)
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
    # Who holds a row in `sending`, and until when: only after the lease expired may the sweep
    # give the row to another worker (delivery.claim, recovery.sweep_notifications).
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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
