"""A store's own templates (one per message type × channel × locale) and every version of them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow


class MessageTemplate(db.Model):
    """The store's override; without one the platform default is used."""
    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("store_id", "message_type", "channel", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    message_type: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageTemplateVersion(db.Model):
    """One save, restore or reset of a store's template: who, when, and the fields it left (None
    after a reset to the default)."""
    __tablename__ = "message_template_versions"
    __table_args__ = (Index("ix_template_versions_key", "store_id", "message_type", "channel", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    message_type: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(String(16))  # saved, restored, reset
    fields: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
