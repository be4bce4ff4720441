"""The sweep takes back only what no live job holds (the fault suite, tests/faults/, kills workers
and takes Redis and the database away around it)."""
from datetime import timedelta

from rq.registry import ScheduledJobRegistry

from tests.runtime import settings_of
from webapp.dispatch.models import Notification
from webapp.dispatch.queueing import DELIVER_JOB, queue
from webapp.dispatch.recovery import sweep_notifications
from webapp.extensions import db
from webapp.redis_conn import get_redis
from webapp.timeutil import utcnow


def test_the_sweep_never_takes_a_row_whose_lease_is_live_however_old_the_claim(app, store):
    """A long batch: claimed ten minutes ago, lease still running. Only an expired lease is taken."""
    long_ago, now = utcnow() - timedelta(minutes=10), utcnow()
    rows = {}
    for name, expires in (("live", now + timedelta(seconds=30)), ("expired", now - timedelta(seconds=1))):
        rows[name] = Notification(store_id=store.id, source="api", message_type="order.ready", channel="email",
                                  priority="transactional", recipient=f"{name}@b.test", body="b", status="sending",
                                  idempotency_key=f"lease-{name}", claimed_at=long_ago, queued_at=long_ago,
                                  lease_owner="host:1/abcd", lease_expires_at=expires)
        db.session.add(rows[name])
    db.session.commit()
    assert sweep_notifications(settings_of(app)) == 1
    db.session.expire_all()
    assert db.session.get(Notification, rows["live"].id).status == "sending"
    assert db.session.get(Notification, rows["expired"].id).status == "pending"


def test_a_retry_whose_scheduled_job_no_scheduler_moved_is_enqueued_again(app, store):
    """A retry is a scheduled job; with no scheduler running it would wait forever. Due a while ago
    it counts as lost; due in the future, or only just due, it is left alone."""
    settings = settings_of(app)
    rows = _queued_long_ago(store, "retrying", ("overdue", "future"))
    q = queue("transactional")
    overdue = q.enqueue_in(timedelta(seconds=60), DELIVER_JOB, [rows["overdue"].id])
    future = q.enqueue_in(timedelta(minutes=30), DELIVER_JOB, [rows["future"].id])
    registry = ScheduledJobRegistry(q.name, connection=get_redis())
    # Push the first one's due time into the past, as if no scheduler had been running since.
    get_redis().zadd(registry.key, {overdue.id: (utcnow() - timedelta(seconds=settings.sweep_requeue_after + 5))
                                    .timestamp()})
    rows["overdue"].job_id, rows["future"].job_id = overdue.id, future.id
    db.session.commit()

    assert sweep_notifications(settings) == 1
    db.session.expire_all()
    assert db.session.get(Notification, rows["overdue"].id).job_id != overdue.id
    assert db.session.get(Notification, rows["future"].id).job_id == future.id


def test_a_job_a_killed_worker_took_off_its_queue_but_never_started_is_enqueued_again(app, store):
    """RQ moves a job from its queue to an intermediate list, then marks it started. A worker killed
    in between leaves it "queued" but on no queue: its rows must not wait for it. A job still on
    its queue is left alone."""
    rows = _queued_long_ago(store, "pending", ("taken", "waiting"))
    q = queue("transactional")
    taken = q.enqueue(DELIVER_JOB, [rows["taken"].id])
    waiting = q.enqueue(DELIVER_JOB, [rows["waiting"].id])
    get_redis().lrem(q.key, 1, taken.id)  # what the killed worker's dequeue did, and nothing after
    get_redis().rpush(q.intermediate_queue_key, taken.id)
    rows["taken"].job_id, rows["waiting"].job_id = taken.id, waiting.id
    db.session.commit()

    assert sweep_notifications(settings_of(app)) == 1
    db.session.expire_all()
    assert db.session.get(Notification, rows["taken"].id).job_id != taken.id
    assert db.session.get(Notification, rows["waiting"].id).job_id == waiting.id


def _queued_long_ago(store, status: str, names: tuple[str, ...]) -> dict[str, Notification]:
    """One committed notification per name, in `status`, queued ten minutes ago."""
    long_ago = utcnow() - timedelta(minutes=10)
    rows = {name: Notification(store_id=store.id, source="api", message_type="order.ready", channel="email",
                               priority="transactional", recipient=f"{name}@b.test", body="b", status=status,
                               idempotency_key=f"{status}-{name}", queued_at=long_ago) for name in names}
    db.session.add_all(rows.values())
    db.session.commit()
    return rows
