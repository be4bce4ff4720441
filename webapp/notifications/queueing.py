"""Putting committed notifications on the RQ queue of their priority class.

Runs after the outbox commit. If Redis is unreachable the rows simply stay unqueued and the
sweep (webapp/notifications/recovery.py) enqueues them when it is back: nothing is lost.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable

import redis
from rq import Queue
from sqlalchemy import update

from webapp.consent.policy import PRIORITIES
from webapp.extensions import db
from webapp.notifications.models import PENDING, RETRYING, Notification, NotificationEvent
from webapp.redis_conn import get_redis
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
DELIVER_JOB = "jobs.deliver.deliver_notifications"
BATCH_SIZE = 100  # messages per job: fewer jobs, yet each job still finishes in seconds
JOB_TIMEOUT = 120


def queue(priority: str) -> Queue:
    return Queue(priority if priority in PRIORITIES else "transactional", connection=get_redis())


def enqueue_notifications(rows: Iterable[Notification]) -> int:
    """Enqueue the pending ones, one job per priority class and batch. Returns how many were queued."""
    by_priority: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.status == PENDING:
            by_priority[row.priority].append(row.id)
    queued = 0
    for priority, ids in by_priority.items():
        for start in range(0, len(ids), BATCH_SIZE):
            queued += enqueue_ids(priority, ids[start:start + BATCH_SIZE])
    return queued


def enqueue_ids(priority: str, ids: list[int], delay_seconds: float = 0, detail: str = "") -> int:
    job_id = f"deliver-{ids[0]}-{uuid.uuid4().hex[:8]}"
    try:
        q = queue(priority)
        kwargs = {"job_id": job_id, "job_timeout": JOB_TIMEOUT, "result_ttl": 0, "failure_ttl": 7 * 86400}
        if delay_seconds > 0:
            from datetime import timedelta

            q.enqueue_in(timedelta(seconds=delay_seconds), DELIVER_JOB, ids, **kwargs)
        else:
            q.enqueue(DELIVER_JOB, ids, **kwargs)
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
