"""Putting committed notifications on the RQ queue of their priority class.

Runs after the outbox commit. If Redis is unreachable the rows simply stay unqueued and the
sweep (webapp/dispatch/recovery.py) enqueues them when it is back: nothing is lost.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

import redis
from rq import Queue
from sqlalchemy import update

from webapp.consent.policy import PRIORITIES
from webapp.dispatch.models import PENDING, RETRYING, Notification, NotificationEvent
from webapp.extensions import db
from webapp.redis_conn import get_enqueue_redis
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
# The order every worker takes its queues in: critical first, so a marketing backlog never delays
# a cancellation. Workers (jobs/worker.py), `make run` and the tests all start from this.
WORKER_QUEUES = PRIORITIES
DELIVER_JOB = "jobs.deliver.deliver_notifications"
BATCH_SIZE = 100  # messages per job: fewer jobs, yet each job still finishes in seconds
JOB_TIMEOUT = 120
JOB_OPTIONS = {"job_timeout": JOB_TIMEOUT, "result_ttl": 0, "failure_ttl": 7 * 86400}


def queue(priority: str) -> Queue:
    return Queue(priority if priority in PRIORITIES else "transactional", connection=get_enqueue_redis())


def assign_jobs(rows: Iterable[Notification]) -> None:
    """Give pending rows their job id and a "queued" timeline entry, in the caller's transaction,
    so one commit covers the outbox and its queueing. enqueue_assigned() puts them on Redis after
    that commit; if it cannot, it says so on the rows and the sweep queues them later."""
    now = utcnow()
    by_priority: dict[str, list[Notification]] = defaultdict(list)
    for row in rows:
        if row.status == PENDING:
            by_priority[row.priority].append(row)
    for priority, pending in by_priority.items():
        for start in range(0, len(pending), BATCH_SIZE):
            job_id = f"deliver-{uuid.uuid4().hex}"
            for row in pending[start:start + BATCH_SIZE]:
                row.job_id, row.queued_at = job_id, now
                row.events.append(NotificationEvent(kind="queued", detail=f"on the {priority} queue", at=now))


def enqueue_assigned(rows: Iterable[Notification]) -> int:
    """Enqueue committed rows under the job ids assign_jobs() gave them."""
    jobs: dict[str, tuple[str, list[int]]] = {}
    for row in rows:
        if row.status == PENDING and row.job_id:
            jobs.setdefault(row.job_id, (row.priority, []))[1].append(row.id)
    return enqueue_jobs(jobs)


def enqueue_jobs(jobs: dict[str, tuple[str, list[int]]]) -> int:
    """Enqueue committed rows by job id: {job_id: (priority, ids)}; returns how many were queued.
    Rows that could not be (Redis down) are marked unqueued for the sweep."""
    queued, unqueued = 0, []
    for job_id, (priority, ids) in jobs.items():
        if unqueued:  # Redis already failed once in this call: do not wait for it again
            unqueued += ids
            continue
        try:
            queue(priority).enqueue(DELIVER_JOB, ids, job_id=job_id, **JOB_OPTIONS)
            queued += len(ids)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            log.warning("Redis unavailable, notifications left for the sweep: %s", error)
            unqueued += ids
    if unqueued:
        _mark_unqueued(unqueued)
    return queued


def _mark_unqueued(ids: list[int]) -> None:
    now = utcnow()
    db.session.execute(update(Notification).where(Notification.id.in_(ids), Notification.status == PENDING)
                       .values(job_id=None, queued_at=None))
    db.session.add_all(NotificationEvent(notification_id=i, kind="not queued",
                                         detail="Redis was unavailable; the sweep will queue it", at=now)
                       for i in ids)
    db.session.commit()


def urgent_work_waiting() -> bool:
    """Whether critical or transactional jobs wait: a marketing batch then stops and hands its rest
    back, so a password reset never waits behind a newsletter batch's provider calls. One LLEN per
    queue; an unreachable Redis answers False (the batch carries on; nothing could be dequeued anyway)."""
    try:
        return any(queue(priority).count for priority in PRIORITIES if priority != "marketing")
    except (redis.ConnectionError, redis.TimeoutError):
        return False


def enqueue_ids(priority: str, ids: list[int], delay_seconds: float = 0, detail: str = "",
                at_front: bool = False) -> int:
    job_id = f"deliver-{uuid.uuid4().hex}"
    try:
        q = queue(priority)
        kwargs = {"job_id": job_id, **JOB_OPTIONS}
        if delay_seconds > 0:
            q.enqueue_in(timedelta(seconds=delay_seconds), DELIVER_JOB, ids, **kwargs)
        else:
            q.enqueue(DELIVER_JOB, ids, at_front=at_front, **kwargs)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        log.warning("Redis unavailable, %d notification(s) left for the sweep: %s", len(ids), error)
        return 0
    now = utcnow()
    db.session.execute(
        update(Notification).where(Notification.id.in_(ids), Notification.status.in_((PENDING, RETRYING)))
        .values(job_id=job_id, queued_at=now)
    )
    note = detail or f"on the {priority} queue"
    db.session.add_all(NotificationEvent(notification_id=i, kind="queued", detail=note, at=now) for i in ids)
    db.session.commit()
    return len(ids)
