"""Consent history: every opt-out, opt-in, bounce and complaint, and where it came from."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow

# What happened to an address's consent on a channel.
OPT_OUT, OPT_IN, HELP, BOUNCE, COMPLAINT = "opt_out", "opt_in", "help", "bounce", "complaint"


class ConsentEvent(db.Model):
    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_store_id_channel_address", "store_id", "channel", "address"),
                      Index("ix_consent_events_customer_id_id", "customer_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(16))  # OPT_OUT, OPT_IN, HELP, BOUNCE, COMPLAINT
    source: Mapped[str] = mapped_column(String(64))  # e.g. "twilio inbound SMS", "sendgrid event"
    detail: Mapped[str | None] = mapped_column(Text)  # the keyword texted, the bounce reason
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
