"""Saved segments: a name and rules over the live customer list (segment_rules), evaluated when
counted or sent to, never copied in advance."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow


class Segment(db.Model):
    __tablename__ = "segments"
    __table_args__ = (Index("ix_segments_store_id_id", "store_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(200))
    match: Mapped[str] = mapped_column(String(8), default="all")  # all, any
    conditions: Mapped[list] = mapped_column(JSON, default=list)  # segment_rules.as_json's conditions
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
