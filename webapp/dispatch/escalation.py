"""Escalation: a transactional or critical message that failed on every provider is reported to
the store's ops channel (Slack, Teams, PagerDuty, …), grouped by cause.

The first failure of a cause opens a group and schedules one alert job `alert_group_seconds`
(RuntimeSettings) later; failures of the same cause until then join the group. So an outage that fails 5,000
order emails sends one alert saying 5,000, not 5,000 alerts. The cause is the store, the channel
and its provider chain: the same providers failing is the same incident.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import redis
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError

from webapp.channels.providers.base import OutboundMessage, ProviderError, TransientProviderError
from webapp.channels.providers.registry import provider_chain
from webapp.channels.registry import get_channel
from webapp.consent.policy import MARKETING
from webapp.dispatch import models as m
from webapp.dispatch.queueing import queue
from webapp.extensions import db
from webapp.orders.models import Order
from webapp.runtime import RuntimeSettings
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
ALERT_JOB = "jobs.alerts.send_alert"
MAX_SAMPLES = 5
MAX_SEND_ATTEMPTS = 3  # an ops channel that stays down this many tries marks the alert failed
RETRY_SECONDS = 30.0
OPEN, SENDING, SENT, FAILED = "open", "sending", "sent", "failed"


def group_key(store_id: int, channel: str, providers: list[str]) -> str:
    return hashlib.sha256(f"{store_id}|{channel}|{','.join(providers)}".encode()).hexdigest()[:32]


def note_failure(row: m.Notification, providers: list[str], settings: RuntimeSettings) -> None:
    """Add a finally-failed notification to its cause's open alert group, opening one if needed.
    Runs inside the caller's transaction; the alert job is enqueued after its commit."""
    if row.priority == MARKETING:
        return  # a campaign message lost is reported in the campaign, not paged
    key = group_key(row.store_id, row.channel, providers)
    open_key = f"{row.store_id}:{key}"
    sample = {"notification_id": row.id, "order_id": row.order_id, "recipient": row.recipient,
              "error": (row.error or "")[:300]}
    alert = db.session.scalar(select(m.EscalationAlert).where(m.EscalationAlert.open_key == open_key)
                              .with_for_update())
    if alert is None:
        try:
            with db.session.begin_nested():
                alert = m.EscalationAlert(store_id=row.store_id, group_key=key, open_key=open_key,
                                          channel=row.channel, cause=_cause(row.channel, providers),
                                          status=OPEN, count=1, samples=[sample])
                db.session.add(alert)
            _schedule_after_commit(alert, settings.alert_group_seconds)
            return
        except IntegrityError:  # another worker opened the group a moment ago: join it
            alert = db.session.scalar(select(m.EscalationAlert).where(m.EscalationAlert.open_key == open_key))
            if alert is None:
                return
    db.session.execute(update(m.EscalationAlert).where(m.EscalationAlert.id == alert.id)
                       .values(count=m.EscalationAlert.count + 1, last_at=utcnow())
                       .execution_options(synchronize_session=False))
    if len(alert.samples or []) < MAX_SAMPLES:
        alert.samples = [*(alert.samples or []), sample]


def _cause(channel: str, providers: list[str]) -> str:
    label = get_channel(channel).label if get_channel(channel) else channel
    return f"{label} failed on every provider ({', '.join(providers) or 'none configured'})"


def _schedule_after_commit(alert: m.EscalationAlert, delay: float) -> None:
    session = db.session()

    @event.listens_for(session, "after_commit", once=True)
    def enqueue(_session):
        schedule(alert.id, delay)


def schedule(alert_id: int, delay: float) -> None:
    """Queue the alert job `delay` seconds from now (the end of the grouping window, or a retry's
    back-off); the sweep re-enqueues it if Redis is away."""
    try:
        q = queue("critical")
        if delay > 0:
            q.enqueue_in(timedelta(seconds=delay), ALERT_JOB, alert_id, job_id=f"alert-{alert_id}")
        else:
            q.enqueue(ALERT_JOB, alert_id, job_id=f"alert-{alert_id}")
    except (redis.ConnectionError, redis.TimeoutError) as error:
        log.warning("Redis unavailable; alert %s left for the sweep: %s", alert_id, error)


def send_alert(alert_id: int, settings: RuntimeSettings) -> str:
    """Close the group and send its one alert through the store's ops providers, in order."""
    # Claim the group atomically: a late scheduled job and a sweep re-enqueue cannot both send it.
    claimed = db.session.execute(update(m.EscalationAlert).where(m.EscalationAlert.id == alert_id,
                                                                 m.EscalationAlert.status == OPEN)
                                 .values(status=SENDING, open_key=None)  # later failures start a new group
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not claimed:
        return "not-open"
    alert = db.session.get(m.EscalationAlert, alert_id, populate_existing=True)
    message = OutboundMessage(0, alert.store_id, "ops", "", _title(alert), _body(alert), f"alert-{alert.id}")
    errors, temporary = [], True  # temporary: every failure was one a later try could get past
    for code, provider in provider_chain(alert.store_id, "ops", settings.public_base_url):
        if isinstance(provider, Exception):
            errors.append(f"{code}: misconfigured: {provider}")
            temporary = False
            continue
        try:
            result = provider.send(message)
        except ProviderError as error:
            errors.append(f"{code}: {error}")
            temporary = temporary and isinstance(error, TransientProviderError)
            continue
        except Exception as unexpected:  # a provider bug must not leave the alert half-sent
            log.exception("ops provider %s raised unexpectedly for alert %s", code, alert.id)
            errors.append(f"{code}: unexpected {type(unexpected).__name__}")
            continue
        alert.status, alert.provider, alert.sent_at = SENT, code, utcnow()
        alert.error = "; ".join(errors) or None
        db.session.commit()
        return f"sent via {code} ({result.provider_message_id})"
    alert.error, alert.attempts = "; ".join(errors)[:2000] or "no ops provider", alert.attempts + 1
    if temporary and errors and alert.attempts < MAX_SEND_ATTEMPTS:
        alert.status = OPEN  # the ops channel is down for now: try again later (the group stays closed)
        db.session.commit()
        schedule(alert.id, delay=RETRY_SECONDS * 2 ** (alert.attempts - 1))
        return "retrying"
    alert.status = FAILED
    db.session.commit()
    log.error("escalation alert %s could not be sent: %s", alert.id, alert.error)
    return "failed"


def _title(alert: m.EscalationAlert) -> str:
    count = db.session.scalar(select(m.EscalationAlert.count).where(m.EscalationAlert.id == alert.id))
    noun = "message" if count == 1 else "messages"
    return f"{count} {noun} could not be delivered: {alert.cause}"


def _body(alert: m.EscalationAlert) -> str:
    lines = [f"Between {alert.first_at:%Y-%m-%d %H:%M} and {alert.last_at:%H:%M} UTC, {alert.cause}."]
    order_ids = [s["order_id"] for s in alert.samples or [] if s.get("order_id")]
    numbers = dict(db.session.execute(select(Order.id, Order.number).where(Order.id.in_(order_ids))).all()) \
        if order_ids else {}
    for sample in alert.samples or []:
        order = f"order {numbers.get(sample.get('order_id'), '?')}" if sample.get("order_id") else "no order"
        lines.append(f"- notification {sample['notification_id']} ({order}): {sample['error']}")
    more = db.session.scalar(select(m.EscalationAlert.count).where(m.EscalationAlert.id == alert.id)) \
        - len(alert.samples or [])
    if more > 0:
        lines.append(f"… and {more} more. See Activity, filtered by status Failed.")
    return "\n".join(lines)


def sweep_alerts(settings: RuntimeSettings) -> int:
    """Re-schedule open groups whose job went missing (Redis outage, a lost delayed job)."""
    cutoff = utcnow() - timedelta(seconds=settings.alert_group_seconds + settings.sweep_requeue_after)
    # Groups still collecting (open_key set) whose job never ran; a retrying alert waits for its own job.
    ids = db.session.scalars(select(m.EscalationAlert.id).where(m.EscalationAlert.status == OPEN,
                                                                m.EscalationAlert.open_key.is_not(None),
                                                                m.EscalationAlert.first_at < cutoff).limit(50)).all()
    for alert_id in ids:
        try:
            queue("critical").enqueue(ALERT_JOB, alert_id)  # send_alert is idempotent: only an open group sends
        except (redis.ConnectionError, redis.TimeoutError):
            return 0
    return len(ids)
