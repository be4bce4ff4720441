"""Suppressing and releasing addresses (opt-out, bounce, complaint), each with its consent event,
and the provider-event dedupe every callback shares. Nothing here commits: callers own the transaction."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.consent.models import (
    BOUNCE,
    COMPLAINT,
    OPT_IN,
    OPT_OUT,
    ChannelSuppression,
    ConsentEvent,
    ProcessedCallback,
)
from webapp.customers.models import Customer
from webapp.extensions import db

OPT_OUT_PREFIX = "opted out"
# A stronger reason replaces a weaker one on the same address, never the other way round.
_RANK = {OPT_OUT: 0, BOUNCE: 1, COMPLAINT: 2}


def _rank(reason: str) -> int:
    if reason.startswith("complained"):
        return 2
    if reason.startswith("bounced"):
        return 1
    return 0


def first_seen(store_id: int, provider: str, event_id: str) -> bool:
    """Record a provider event id; False if it was already processed (a replay). Flushes in a savepoint,
    so a concurrent duplicate fails here rather than at commit."""
    if not event_id:
        return True
    event_id = event_id[:200]
    if db.session.scalar(select(ProcessedCallback.id).where(ProcessedCallback.provider == provider,
                                                            ProcessedCallback.event_id == event_id)):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(ProcessedCallback(store_id=store_id, provider=provider, event_id=event_id))
    except IntegrityError:
        return False
    return True


def customer_id_for(store_id: int, channel: str, address: str) -> int | None:
    column = Customer.email if channel == "email" else Customer.phone
    return db.session.scalar(select(Customer.id).where(Customer.store_id == store_id, column == address)
                             .order_by(Customer.id).limit(1))


def _consent(store_id: int, channel: str, address: str, action: str, source: str, detail: str | None,
             customer_id: int | None) -> None:
    if customer_id is None:
        customer_id = customer_id_for(store_id, channel, address)
    db.session.add(ConsentEvent(store_id=store_id, customer_id=customer_id, channel=channel, address=address[:254],
                                action=action, source=source[:64], detail=detail))


def suppress(store_id: int, channel: str, address: str, action: str, reason: str, source: str,
             detail: str | None = None, customer_id: int | None = None) -> None:
    """Suppress the address on the channel (upsert) and record why: action is OPT_OUT, BOUNCE or COMPLAINT."""
    address, reason = address[:254], reason[:200]
    row = db.session.scalar(select(ChannelSuppression).where(
        ChannelSuppression.store_id == store_id, ChannelSuppression.channel == channel,
        ChannelSuppression.address == address).with_for_update())
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(ChannelSuppression(store_id=store_id, channel=channel, address=address, reason=reason))
        except IntegrityError:  # suppressed concurrently: fall through to the update
            row = db.session.scalar(select(ChannelSuppression).where(
                ChannelSuppression.store_id == store_id, ChannelSuppression.channel == channel,
                ChannelSuppression.address == address).with_for_update())
    if row is not None and _RANK.get(action, 0) > _rank(row.reason):
        row.reason = reason
    _consent(store_id, channel, address, action, source, detail, customer_id)


def release_opt_out(store_id: int, channel: str, address: str, source: str, detail: str | None = None,
                    customer_id: int | None = None) -> bool:
    """The customer opted back in: lift an opt-out suppression (never a bounce or complaint). Returns
    whether one was lifted; the opt-in is recorded either way."""
    row = db.session.scalar(select(ChannelSuppression).where(
        ChannelSuppression.store_id == store_id, ChannelSuppression.channel == channel,
        ChannelSuppression.address == address).with_for_update())
    lifted = row is not None and row.reason.startswith(OPT_OUT_PREFIX)
    if lifted:
        db.session.delete(row)
    _consent(store_id, channel, address, OPT_IN, source, detail, customer_id)
    return lifted


def record(store_id: int, channel: str, address: str, action: str, source: str, detail: str | None = None,
           customer_id: int | None = None) -> None:
    """A consent event that changes no suppression (HELP)."""
    _consent(store_id, channel, address, action, source, detail, customer_id)
