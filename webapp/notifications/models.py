"""Stored Customer Notifications rules, one row per store × kind × source × status."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.notifications.rules import RuleKey, RuleState
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


class MessageRoute(db.Model):
    """A store's routing of one message type: which channels, in order, and whether it goes to
    all of them or only the first reachable. No row: the platform default (notifications.routing)."""

    __tablename__ = "message_routes"
    __table_args__ = (UniqueConstraint("store_id", "message_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    message_type: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # all, first
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)  # in order
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
