"""Pause, resume, cancel, and resend to the recipients whose message failed.

Pausing takes back the campaign's notifications that are queued but not yet tried (in one
transaction that locks them, so a worker either claimed a row first and sends it, or finds it
gone): their recipients wait again and get the same idempotency key when the campaign resumes,
so pausing and resuming never mails anyone twice. Messages already being sent or retried finish.
"""
from __future__ import annotations

from sqlalchemy import delete, or_, select, update

from webapp.accounts.models import Store
from webapp.audit.models import record
from webapp.campaigns.models import (
    CANCELLED,
    DONE,
    DRAFT,
    PAUSED,
    QUEUED,
    SCHEDULED,
    SENDING,
    WAITING,
    Campaign,
    CampaignRecipient,
)
from webapp.campaigns.pump_queue import enqueue_pump
from webapp.dispatch import models as m
from webapp.extensions import db
from webapp.timeutil import utcnow


class CampaignStateError(ValueError):
    """The action does not apply to the campaign as it is now (the message says why)."""


def pause(store: Store, campaign: Campaign, user_id: int | None = None, reason: str = "paused by staff") -> int:
    """Stop sending; returns how many queued messages were taken back."""
    if campaign.status not in (SENDING, SCHEDULED):
        raise CampaignStateError(f"only a sending or scheduled campaign can be paused; this one is {campaign.status}")
    campaign.status, campaign.status_reason = PAUSED, reason
    taken = take_back_unsent(campaign)
    record(store.id, user_id, "campaign.paused", campaign.name, new={"id": campaign.id, "taken_back": taken})
    db.session.commit()
    return taken


def resume(store: Store, campaign: Campaign, user_id: int | None = None) -> None:
    if campaign.status != PAUSED:
        raise CampaignStateError(f"only a paused campaign can be resumed; this one is {campaign.status}")
    campaign.status = SENDING if campaign.started_at else SCHEDULED
    campaign.status_reason = None
    record(store.id, user_id, "campaign.resumed", campaign.name, new={"id": campaign.id})
    db.session.commit()
    enqueue_pump(campaign.id)


def cancel(store: Store, campaign: Campaign, user_id: int | None = None) -> int:
    """Stop for good; returns how many queued messages were taken back."""
    if campaign.status in (DONE, CANCELLED):
        raise CampaignStateError(f"the campaign is already {campaign.status}")
    started = campaign.status != DRAFT
    campaign.status, campaign.status_reason, campaign.finished_at = CANCELLED, "cancelled by staff", utcnow()
    taken = take_back_unsent(campaign) if started else 0
    record(store.id, user_id, "campaign.cancelled", campaign.name, new={"id": campaign.id, "taken_back": taken})
    db.session.commit()
    return taken


def resend_failed(store: Store, campaign: Campaign, user_id: int | None = None) -> int:
    """Queue again exactly the recipients whose current message failed at the provider (not those
    that bounced or complained: their addresses are suppressed); returns how many."""
    if campaign.status not in (SENDING, PAUSED, DONE):
        raise CampaignStateError(f"a {campaign.status} campaign has nothing to resend")
    N, R = m.Notification, CampaignRecipient
    failed = list(db.session.scalars(
        select(R.id).join(N, N.id == R.notification_id)
        .where(R.campaign_id == campaign.id, R.status == QUEUED, N.status == m.FAILED,
               ~or_(N.error.like("%: bounced%"), N.error.like("%: complained%")))))
    if not failed:
        return 0
    for start in range(0, len(failed), 5000):
        db.session.execute(update(R).where(R.id.in_(failed[start:start + 5000]))
                           .values(status=WAITING, notification_id=None, round=R.round + 1, due_at=utcnow(),
                                   reason="resent after a failure"))
    if campaign.status != PAUSED:  # a paused campaign keeps its reason: nothing goes until resumed
        campaign.status, campaign.finished_at = SENDING, None
        campaign.status_reason = f"resending to {len(failed)} that failed"
    record(store.id, user_id, "campaign.resent_failed", campaign.name, new={"id": campaign.id, "count": len(failed)})
    db.session.commit()
    if campaign.status == SENDING:
        enqueue_pump(campaign.id)
    return len(failed)


def take_back_unsent(campaign: Campaign) -> int:
    """Delete the campaign's pending, never-tried notifications and put their recipients back.
    The campaign's own change is written first: on SQLite that takes the database's write lock, so
    no worker can claim a row between the select and the delete (PostgreSQL locks the rows)."""
    N, R = m.Notification, CampaignRecipient
    db.session.flush()
    ids = list(db.session.scalars(select(N.id).where(N.campaign_id == campaign.id, N.status == m.PENDING,
                                                     N.attempts == 0).with_for_update()))
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        db.session.execute(update(R).where(R.campaign_id == campaign.id, R.notification_id.in_(chunk))
                           .values(status=WAITING, notification_id=None))
        db.session.execute(delete(m.NotificationEvent).where(m.NotificationEvent.notification_id.in_(chunk)))
        db.session.execute(delete(N).where(N.id.in_(chunk), N.status == m.PENDING))
    return len(ids)
