"""Consent: every opt-out, opt-in, bounce and complaint with where it came from, the addresses
suppressed per channel, and the provider callbacks already applied."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.consent.actions import BOUNCE, COMPLAINT, HELP, OPT_IN, OPT_OUT  # noqa: F401 (re-exported)
from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow


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
    actor: Mapped[str | None] = mapped_column(String(254))  # who: a staff email, "api", "customer"
    # Evidence of an opt-in: where the customer was when they agreed, where known.
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerConsent(db.Model):
    """A customer's marketing consent on one channel, now: opted in or out. No row means never asked.
    Every change also appends a ConsentEvent: this row is the state, those are the history."""

    __tablename__ = "customer_consents"
    __table_args__ = (UniqueConstraint("customer_id", "channel"),
                      Index("ix_customer_consents_store_id_channel_status", "store_id", "channel", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # opted_in, opted_out
    source: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class ProcessedCallback(db.Model):
    """Provider callbacks already applied, by the provider's own event id, so a replay changes nothing."""

    __tablename__ = "processed_callbacks"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
