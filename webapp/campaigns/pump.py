"""The campaign pump: a short job on the marketing queue that moves one campaign forward and queues
its next pass. A pass starts a scheduled campaign when its time comes (freezing the segment),
pauses it when every provider of its channel is failing, waits outside its send window, decides an
A/B test when the wait is over, and turns due recipients into queued notifications, a few thousand
at a time, within the campaign's rate limits and never more than BACKLOG ahead of delivery, so
critical and transactional messages (on their own queues, taken first) never wait behind it.

One pass at a time per campaign (a Redis lock); a pass killed anywhere leaves a consistent state
(every step is one commit), and the sweep queues a new pass for a campaign whose pump went quiet.
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

import redis
from sqlalchemy import func, select

from webapp.accounts.models import Store
from webapp.campaigns import results
from webapp.campaigns.campaign_store import transition
from webapp.campaigns.control import take_back_unsent
from webapp.campaigns.materialize import job_size, materialize
from webapp.campaigns.models import DONE, PAUSED, SCHEDULED, SENDING, WAITING, Campaign, CampaignRecipient
from webapp.campaigns.pump_queue import enqueue_pump
from webapp.campaigns.render import CampaignRenderer
from webapp.campaigns.schedule import in_window, next_open, parse_window, start_at, zone
from webapp.campaigns.snapshot import WAIT_FOR_WINNER, freeze
from webapp.channels import rate_limit
from webapp.channels.circuit import breaker_states
from webapp.channels.models import ProviderConfig
from webapp.channels.providers.registry import DEFAULT_PROVIDER
from webapp.dispatch.models import OPEN_STATUSES, Notification
from webapp.dispatch.queueing import urgent_work_waiting
from webapp.extensions import db
from webapp.notifications.plan_requests import store_info
from webapp.redis_conn import get_redis
from webapp.runtime import RuntimeSettings
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
CHUNK = 1000  # recipients turned into notifications per step: one delivery job's worth
BACKLOG = 20_000  # open notifications of the campaign beyond which the pump waits for delivery
PASS_SECONDS = 20  # a pass then hands over to a fresh job
IDLE_RECHECK = 5  # seconds between passes while only deliveries are outstanding
MAX_SLEEP = 300  # a waiting campaign is looked at again at least this often
# The pass's lock, renewed before every chunk: a pass killed mid-way frees the campaign within this.
LOCK_SECONDS = 60


def pump(campaign_id: int, settings: RuntimeSettings) -> str:
    """One pass; returns what the campaign is doing now (for logs and tests)."""
    lock = f"notifyhub:campaign-pump:{campaign_id}"
    token = uuid.uuid4().hex
    try:
        if not get_redis().set(lock, token, nx=True, ex=LOCK_SECONDS):
            return "busy"
    except redis.RedisError:
        return "no-redis"  # nothing can be queued either; the sweep comes back
    try:
        return _pass(campaign_id, settings, lambda: _renew(lock, token))
    finally:
        try:
            if get_redis().get(lock) == token.encode():
                get_redis().delete(lock)
        except redis.RedisError:
            pass


def _renew(lock: str, token: str) -> None:
    try:
        if get_redis().get(lock) == token.encode():
            get_redis().expire(lock, LOCK_SECONDS)
    except redis.RedisError:
        pass


def _pass(campaign_id: int, settings: RuntimeSettings, renew=lambda: None) -> str:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status not in (SCHEDULED, SENDING):
        return campaign.status if campaign else "gone"
    store = db.session.get(Store, campaign.store_id)
    now = utcnow()
    if campaign.status == SCHEDULED:
        starts = start_at(campaign.send_at, campaign.local_time, zone(store.timezone), now)
        if starts > now:
            return _later(campaign, (starts - now).total_seconds(), "scheduled")
        if freeze(campaign, store, now) is None:  # paused or cancelled while it waited
            db.session.rollback()
            return campaign.status
        campaign.pumped_at = now
        db.session.commit()
    renderer = CampaignRenderer(store.id, store_info(store), campaign.channel, campaign.utm,
                                (campaign.sender or {}).get("reply_to"))
    per_job = job_size(store.id, campaign.channel)
    deadline = time.monotonic() + PASS_SECONDS
    while time.monotonic() < deadline:
        renew()
        waiting = _obstacle(campaign, store, settings)
        if waiting:
            return waiting
        room = BACKLOG - _open_count(campaign.id)
        if room <= 0:
            return _later(campaign, 2, "backlog")
        allowed = _allowance(campaign, min(CHUNK, room))
        if allowed is not None and allowed[0] == 0:
            return _later(campaign, allowed[1], "rate-limited")
        wanted = allowed[0] if allowed else min(CHUNK, room)
        due = _due(campaign, utcnow(), wanted)
        if materialize(campaign, store, due, renderer, utcnow(), per_job) is None:
            db.session.refresh(campaign)
            return campaign.status  # paused or cancelled by staff meanwhile
        if len(due) < wanted:
            return _settle(campaign)
        if urgent_work_waiting():  # this worker takes the critical job first, then this pump again
            return _later(campaign, 0, SENDING, at_front=True)
    return _later(campaign, 0, SENDING)


def _obstacle(campaign: Campaign, store: Store, settings: RuntimeSettings) -> str | None:
    """Pause on a provider outage, wait outside the send window; else decide a due A/B test."""
    now = utcnow()
    outage = provider_outage(campaign, now)
    if outage:
        # Like a pause by staff: the queued, never-tried messages come back, rather than each
        # waiting out the breaker and failing; resuming writes them again under the same keys.
        if transition(campaign, (SENDING,), status=PAUSED, status_reason=outage, pumped_at=now):
            take_back_unsent(campaign)
            log.warning("campaign %s paused: %s", campaign.id, outage)
        db.session.commit()
        db.session.refresh(campaign)
        return campaign.status
    window, _ = parse_window(campaign.send_window)
    tz = zone(store.timezone)
    if window and not in_window(window, now, tz):
        opens = next_open(window, now, tz)
        campaign.status_reason = f"waiting for the send window ({window.describe()}); resumes " \
                                 f"{opens.astimezone(tz):%a %H:%M}"
        return _later(campaign, (opens - now).total_seconds(), "waiting")
    if campaign.status_reason and campaign.status_reason.startswith("waiting for the send window"):
        campaign.status_reason = None
    if campaign.ab_test and not campaign.ab_winner and _winner_due(campaign, now):
        campaign.ab_winner = results.ab_leader(campaign)
        campaign.status_reason = f"A/B test decided: variant {campaign.ab_winner} goes to the rest"
        db.session.commit()
    return None


def provider_outage(campaign: Campaign, now: datetime) -> str | None:
    """Why sending should pause: every provider of the channel is paused by its circuit breaker."""
    codes = list(db.session.scalars(select(ProviderConfig.provider).where(
        ProviderConfig.store_id == campaign.store_id, ProviderConfig.channel == campaign.channel,
        ProviderConfig.enabled.is_(True))))
    if not codes:
        default = DEFAULT_PROVIDER.get(campaign.channel)
        codes = [default.spec.code] if default else ["sandbox"]
    states = breaker_states(campaign.store_id)
    failing = [code for code in codes
               if (state := states.get((campaign.channel, code))) and state.open_until and state.open_until > now]
    if len(failing) < len(codes):
        return None
    return f"paused: {', '.join(failing)} failing (paused after repeated failures); resume when it is back"


def _allowance(campaign: Campaign, wanted: int) -> tuple[int, float] | None:
    """(granted, retry_after) under the campaign's own rate limits; None when it has none."""
    limits, problems = rate_limit.parse_limits(campaign.rate_limits or [])
    if not limits or problems:
        return None
    # Keyed by the creation time too: a database restored or reset reuses ids, never the moment.
    grant = rate_limit.acquire(f"campaign:{campaign.id}:{campaign.created_at.timestamp():.0f}", limits, wanted)
    return grant.granted, grant.retry_after


def _winner_due(campaign: Campaign, now: datetime) -> bool:
    return db.session.scalar(select(CampaignRecipient.id).where(
        CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.status == WAITING,
        CampaignRecipient.variant == WAIT_FOR_WINNER, CampaignRecipient.due_at <= now).limit(1)) is not None


def _due(campaign: Campaign, now: datetime, limit: int) -> list[CampaignRecipient]:
    query = select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id,
                                            CampaignRecipient.status == WAITING, CampaignRecipient.due_at <= now)
    if campaign.ab_test and not campaign.ab_winner:
        query = query.where(CampaignRecipient.variant != WAIT_FOR_WINNER)
    return list(db.session.scalars(query.order_by(CampaignRecipient.id).limit(limit)))


def _open_count(campaign_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.campaign_id == campaign_id, Notification.status.in_(OPEN_STATUSES)))


def _settle(campaign: Campaign) -> str:
    """Nothing more is due now: done when nothing waits and nothing is in flight, else come back."""
    next_due = db.session.scalar(select(func.min(CampaignRecipient.due_at)).where(
        CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.status == WAITING))
    if next_due is None and _open_count(campaign.id) == 0:
        # Done only if still nothing waits when the row is written: a resend to failed may just
        # have put recipients back.
        nothing_waits = ~select(CampaignRecipient.id).where(CampaignRecipient.campaign_id == campaign.id,
                                                            CampaignRecipient.status == WAITING).exists()
        now = utcnow()
        if transition(campaign, (SENDING,), nothing_waits, status=DONE, finished_at=now, pumped_at=now,
                      status_reason=None):
            db.session.commit()
            return DONE
        db.session.commit()
        return _later(campaign, IDLE_RECHECK, SENDING)
    delay = IDLE_RECHECK if next_due is None else (next_due - utcnow()).total_seconds()
    return _later(campaign, max(1.0, delay), SENDING)


def _later(campaign: Campaign, seconds: float, state: str, at_front: bool = False) -> str:
    campaign.pumped_at = utcnow()
    db.session.commit()
    enqueue_pump(campaign.id, delay_seconds=min(max(0.0, seconds), MAX_SLEEP), at_front=at_front)
    return state


def stale_pumps(settings: RuntimeSettings, now: datetime | None = None) -> list[int]:
    """Campaigns whose pump should have run by now: scheduled ones past their start, sending ones
    not pumped for a while (the job was lost: Redis restarted empty, no RQ scheduler running)."""
    now = now or utcnow()
    quiet = now - timedelta(seconds=max(60, settings.sweep_interval * 2))
    ids = []
    for campaign in db.session.scalars(select(Campaign).where(Campaign.status.in_((SCHEDULED, SENDING)))):
        if campaign.pumped_at is not None and campaign.pumped_at > quiet:
            continue
        if campaign.status == SCHEDULED:
            store = db.session.get(Store, campaign.store_id)
            if start_at(campaign.send_at, campaign.local_time, zone(store.timezone), now) > now:
                continue
        ids.append(campaign.id)
    return ids
