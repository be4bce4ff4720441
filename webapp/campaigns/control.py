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
from webapp.campaigns.campaign_store import transition
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
from webapp.dispatch.marketing_gate import CAMPAIGN_PAUSED
from webapp.extensions import db
from webapp.timeutil import utcnow


class CampaignStateError(ValueError):
    """The action does not apply to the campaign as it is now (the message says why)."""


def pause(store: Store, campaign: Campaign, user_id: int | None = None, reason: str = "paused by staff") -> int:
    """Stop sending; returns how many queued messages were taken back."""
    if not transition(campaign, (SENDING, SCHEDULED), status=PAUSED, status_reason=reason):
        raise _state_error(campaign, "only a sending or scheduled campaign can be paused")
    taken = take_back_unsent(campaign)
    record(store.id, user_id, "campaign.paused", campaign.name, new={"id": campaign.id, "taken_back": taken})
    db.session.commit()
    return taken


def resume(store: Store, campaign: Campaign, user_id: int | None = None) -> None:
    """Carry on; messages the send-time check held back while paused are written again."""
    if not transition(campaign, (PAUSED,), status=SENDING if campaign.started_at else SCHEDULED, status_reason=None):
        raise _state_error(campaign, "only a paused campaign can be resumed")
    again = _requeue(campaign, m.Notification.error == CAMPAIGN_PAUSED, "held while the campaign was paused")
    record(store.id, user_id, "campaign.resumed", campaign.name, new={"id": campaign.id, "held_back": again})
    db.session.commit()
    enqueue_pump(campaign.id)


def cancel(store: Store, campaign: Campaign, user_id: int | None = None) -> int:
    """Stop for good; returns how many queued messages were taken back."""
    started = campaign.status != DRAFT
    if not transition(campaign, (DRAFT, SCHEDULED, SENDING, PAUSED), status=CANCELLED,
                      status_reason="cancelled by staff", finished_at=utcnow()):
        raise _state_error(campaign, "a sent or cancelled campaign cannot be cancelled")
    taken = take_back_unsent(campaign) if started else 0
    record(store.id, user_id, "campaign.cancelled", campaign.name, new={"id": campaign.id, "taken_back": taken})
    db.session.commit()
    return taken


def resend_failed(store: Store, campaign: Campaign, user_id: int | None = None) -> int:
    """Queue again exactly the recipients whose current message failed at the provider (not those
    that bounced or complained: their addresses are suppressed); returns how many."""
    if campaign.status not in (SENDING, PAUSED, DONE):
        raise CampaignStateError(f"a {campaign.status} campaign has nothing to resend")
    N = m.Notification
    at_provider = (N.status == m.FAILED) & ~or_(N.error.like("%: bounced%"), N.error.like("%: complained%"))
    count = _requeue(campaign, at_provider, "resent after a failure")
    if not count:
        return 0
    # A paused campaign keeps its reason: nothing goes until it is resumed.
    transition(campaign, (SENDING, DONE), status=SENDING, finished_at=None,
               status_reason=f"resending to {count} that failed")
    record(store.id, user_id, "campaign.resent_failed", campaign.name, new={"id": campaign.id, "count": count})
    db.session.commit()
    if campaign.status == SENDING:
        enqueue_pump(campaign.id)
    return count


def _requeue(campaign: Campaign, which, reason: str) -> int:
    """Recipients whose current message matches `which` wait again, for a new message (the next
    round: a new idempotency key). The condition is checked by the UPDATE itself, so two requests
    at once (a double click) move each recipient once."""
    N, R = m.Notification, CampaignRecipient
    matching = select(N.id).where(N.campaign_id == campaign.id, which)
    return db.session.execute(
        update(R).where(R.campaign_id == campaign.id, R.status == QUEUED, R.notification_id.in_(matching))
        .values(status=WAITING, notification_id=None, round=R.round + 1, due_at=utcnow(), reason=reason)
        .execution_options(synchronize_session=False)).rowcount


def _state_error(campaign: Campaign, message: str) -> CampaignStateError:
    db.session.refresh(campaign)
    return CampaignStateError(f"{message}; this one is {campaign.status}")


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
