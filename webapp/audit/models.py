"""Audit entries. Written in the same transaction as the change they describe."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import User
from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_store_id_id", "store_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    old: Mapped[dict | None] = mapped_column(JSON)
    new: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User | None] = relationship()


def record(store_id: int, user_id: int | None, action: str, target: str,
           old: dict | None = None, new: dict | None = None, reason: str | None = None) -> AuditEntry:
    """Add an audit entry to the current session; the caller's commit makes it permanent."""
    entry = AuditEntry(store_id=store_id, user_id=user_id, action=action, target=target,
                       old=old, new=new, reason=reason)
    db.session.add(entry)
    return entry
