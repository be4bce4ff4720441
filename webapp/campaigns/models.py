"""Saved segments, campaigns, and each campaign's recipient snapshot.

A segment is rules over the live customer list (segment_rules), evaluated when counted or sent
to, never copied in advance. A campaign's recipients are frozen when its send starts: one row per
customer with the address, locale and A/B variant they get and when they are due, and the
notification made for them, so a crashed or restarted send resumes where it stopped.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow

# Campaign statuses: draft → scheduled → sending → done; paused between, cancelled from any but done.
DRAFT, SCHEDULED, SENDING, PAUSED, CANCELLED, DONE = "draft", "scheduled", "sending", "paused", "cancelled", "done"
STATUSES = (DRAFT, SCHEDULED, SENDING, PAUSED, CANCELLED, DONE)
EDITABLE = (DRAFT, SCHEDULED)  # until the send starts
# Recipient statuses: waiting (not yet due, or not yet materialised) → queued (has a notification);
# excluded when consent, suppression or a missing address keep them out (reason says which).
WAITING, QUEUED, EXCLUDED = "waiting", "queued", "excluded"


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


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_store_id_id", "store_id", "id"),
                      Index("ix_campaigns_status_send_at", "status", "send_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    # {locale: {"subject", "body"}}: the campaign message's template per locale.
    content: Mapped[dict] = mapped_column(JSON, default=dict)
    sender: Mapped[dict | None] = mapped_column(JSON)  # {"name", "reply_to"}
    utm: Mapped[dict | None] = mapped_column(JSON)  # {"source", "medium", "campaign"} appended to links
    # {"field": "subject"|"body", "b": {locale: text}, "sample_percent", "wait_minutes", "metric"}
    ab_test: Mapped[dict | None] = mapped_column(JSON)
    ab_winner: Mapped[str | None] = mapped_column(String(1))  # "A" or "B" once decided
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: as soon as sent
    local_time: Mapped[bool] = mapped_column(default=False)  # send_at's wall-clock time in each recipient's zone
    send_window: Mapped[dict | None] = mapped_column(JSON)  # {"days": [0..6], "start": "09:00", "end": "18:00"}
    rate_limits: Mapped[list | None] = mapped_column(JSON)  # [{"per": "second"|"minute"|"day", "limit": n}]
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    status_reason: Mapped[str | None] = mapped_column(String(500))  # why paused, or what it waits for
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The pump's last pass: the sweep queues a new one for a campaign whose pump went silent.
    pumped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignRecipient(db.Model):
    __tablename__ = "campaign_recipients"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_recipients_campaign_customer"),
                      Index("ix_campaign_recipients_campaign_id_status_due_at", "campaign_id", "status", "due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    address: Mapped[str] = mapped_column(String(254), default="")
    locale: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    variant: Mapped[str] = mapped_column(String(1), default="")  # "", "A", "B"; "W" waits for the A/B winner
    status: Mapped[str] = mapped_column(String(16), default=WAITING)
    reason: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    round: Mapped[int] = mapped_column(default=1)  # 2, 3, ...: resent after a failure
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
