"""The sweep: finds notifications whose job was lost (Redis restarted empty, a worker was
killed, Redis was down when they were enqueued) and enqueues them again.

Safe on many machines at once: each row is taken with a compare-and-set on its queued_at, so
only one sweeper re-enqueues it, and delivery's own claim makes even a double enqueue harmless.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import and_, or_, select, update

from webapp.dispatch import models as m
from webapp.dispatch.queueing import enqueue_ids
from webapp.extensions import db
from webapp.redis_conn import get_redis
from webapp.runtime import RuntimeSettings
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
WAITING_STATUSES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
MAX_ROWS = 2000


def sweep_notifications(settings: RuntimeSettings) -> int:
    """Re-enqueue stranded notifications; returns how many."""
    now = utcnow()
    unqueued_before = now - timedelta(seconds=settings.sweep_unqueued_grace)
    requeue_before = now - timedelta(seconds=settings.sweep_requeue_after)

    N = m.Notification
    rows = db.session.execute(
        select(N.id, N.status, N.priority, N.job_id, N.queued_at).where(or_(
            and_(N.status == m.PENDING, N.queued_at.is_(None), N.created_at < unqueued_before),
            and_(N.status.in_((m.PENDING, m.RETRYING)), N.queued_at < requeue_before),
            # A worker that died mid-batch: its lease ran out. A live batch always ends before.
            and_(N.status == m.SENDING, or_(N.lease_expires_at < now, and_(
                N.lease_expires_at.is_(None), N.claimed_at < now - timedelta(seconds=settings.lease_seconds)))),
        )).order_by(N.id).limit(MAX_ROWS)
    ).all()
    if not rows:
        return 0
    try:
        alive = _live_jobs({row.job_id for row in rows if row.job_id and row.status != m.SENDING},
                           overdue_after=settings.sweep_requeue_after)
    except (redis.ConnectionError, redis.TimeoutError):
        return 0  # Redis is still away; try again at the next sweep
    by_priority: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.status != m.SENDING and row.job_id in alive:
            continue
        if _take(row, now):
            by_priority[row.priority].append(row.id)
    db.session.commit()
    total = 0
    for priority, ids in by_priority.items():
        for start in range(0, len(ids), 100):
            total += enqueue_ids(priority, ids[start:start + 100], detail="re-queued by the sweep")
    if total:
        log.info("sweep re-enqueued %d notification(s)", total)
    return total


def _take(row, now) -> bool:
    """Compare-and-set: only the sweeper that moves queued_at first re-enqueues the row."""
    N = m.Notification
    same_queued = N.queued_at.is_(None) if row.queued_at is None else N.queued_at == row.queued_at
    values = {"queued_at": now}
    if row.status == m.SENDING:
        # Killed mid-delivery: send again; the idempotency key lets the provider drop a duplicate.
        values.update(status=m.PENDING, lease_owner=None, lease_expires_at=None)
        # Still expired now: a row no one else took in the meantime.
        same_queued = and_(same_queued, or_(N.lease_expires_at.is_(None), N.lease_expires_at < now))
    return db.session.execute(
        update(N).where(N.id == row.id, N.status == row.status, same_queued).values(**values)
    ).rowcount == 1


def _live_jobs(job_ids: set[str], overdue_after: float) -> set[str]:
    """Jobs still waiting to run. A started job does not count: if its worker is alive it will
    find the rows already claimed by the re-enqueued job (or vice versa), and if it died (its
    worker key can outlive it by minutes) its rows must not wait for it. Nor does a scheduled job
    overdue by more than `overdue_after` seconds: no scheduler is running to move it (every worker
    started without one, or the one there was died), and a retry must not wait for one forever.
    Nor does a queued job that is no longer on its queue: a worker killed between taking it off
    the queue and starting it leaves it "queued" in RQ's intermediate list, where RQ itself only
    fails it a minute or more later."""
    if not job_ids:
        return set()
    ids = sorted(job_ids)
    conn = get_redis()
    jobs = Job.fetch_many(ids, connection=conn)
    waiting = {job_id: job for job_id, job in zip(ids, jobs, strict=True)
               if job is not None and job.get_status(refresh=False) in WAITING_STATUSES}
    now = utcnow().timestamp()
    for job_id, job in list(waiting.items()):
        status = job.get_status(refresh=False)
        if status == JobStatus.QUEUED and conn.lpos(Queue(job.origin, connection=conn).key, job_id) is None:
            del waiting[job_id]
        elif status == JobStatus.SCHEDULED:
            due = conn.zscore(ScheduledJobRegistry(job.origin, connection=conn).key, job_id)
            if due is None or now - due > overdue_after:  # None: on no schedule, so never moved
                del waiting[job_id]
    return set(waiting)
