"""A provider account's sending limits at send time: marketing over them waits and goes out when a
slot frees; critical and transactional messages are never held, but they use the capacity; rows a
batch hands back unsent give their slots back; an account without limits costs nothing."""
from __future__ import annotations

import time

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import func, select

from tests.pipeline import run_worker
from webapp.channels.accounts import configure_provider, set_rate_limits
from webapp.channels.models import ProviderConfig, SandboxMessage
from webapp.dispatch import provider_limits
from webapp.dispatch.delivery import deliver_batch
from webapp.dispatch.models import Notification
from webapp.extensions import db
from webapp.redis_conn import get_redis
from webapp.runtime import RuntimeSettings

_serial = iter(range(1, 10**6))


def queue_rows(store, count: int, priority: str = "marketing", provider_index: int = 0) -> list[int]:
    rows = []
    for _ in range(count):
        n = next(_serial)
        rows.append(Notification(store_id=store.id, source="api", message_type="campaign.spring", channel="email",
                                 priority=priority, recipient=f"c{n}@example.test", subject="Spring sale",
                                 body=f"20% off, customer {n}", idempotency_key=f"{priority}-{n}",
                                 provider_index=provider_index))
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


@pytest.fixture
def limited(store):
    """The store's email goes through the sandbox; give it limits with limited(...)."""
    row = configure_provider(store.id, "email", "sandbox", {})

    def set_limits(**limits):
        set_rate_limits(store.id, row.id, [{"per": per, "limit": n} for per, n in limits.items()])
        return row

    return set_limits


def rows_of(ids) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)))


def sandbox_count(store) -> int:
    return db.session.scalar(select(func.count()).select_from(SandboxMessage)
                             .where(SandboxMessage.store_id == store.id))


def run_due_jobs() -> None:
    """What a worker's scheduler does once a second: move due jobs onto their queue."""
    conn = get_redis()
    scheduler = RQScheduler([Queue("marketing", connection=conn)], connection=conn)
    scheduler.acquire_locks()
    scheduler.enqueue_scheduled_jobs()
    scheduler.release_locks()


def test_marketing_over_the_limit_is_held_and_sent_when_a_slot_frees(store, limited):
    limited(second=3)
    ids = queue_rows(store, 5)
    assert deliver_batch(ids, RuntimeSettings()) == {"sent": 3, "held": 2}
    held = [row for row in rows_of(ids) if row.status != "sent"]
    assert [row.id for row in held] == ids[3:]  # the first in the batch go first
    for row in held:
        assert row.status == "pending" and row.attempts == 0
        assert row.error == "held: provider limit 3 a second; resumes in 1 s"
        assert [(e.kind, e.detail) for e in row.events][:1] == [
            ("held", "provider limit 3 a second; resumes in 1 s")]
        assert "started" not in {e.kind for e in row.events}  # no attempt was made
    registry = ScheduledJobRegistry("marketing", connection=get_redis())
    [job_id] = registry.get_job_ids()
    assert sorted(Queue("marketing", connection=get_redis()).fetch_job(job_id).args[0]) == ids[3:]
    assert sandbox_count(store) == 3
    time.sleep(1.05)  # the slots free a second after the first three
    run_due_jobs()
    run_worker()
    assert {row.status for row in rows_of(ids)} == {"sent"} and sandbox_count(store) == 5
    for row in rows_of(ids[3:]):  # one attempt each: nothing reads as a possible duplicate
        assert [e.detail.split(" on ")[0] for e in row.events if e.kind == "started"] == ["attempt 1 started"]


def test_critical_and_transactional_are_never_held_but_use_the_capacity(store, limited):
    limited(minute=4)
    assert deliver_batch(queue_rows(store, 3, "critical"), RuntimeSettings()) == {"sent": 3}
    assert deliver_batch(queue_rows(store, 6, "transactional"), RuntimeSettings()) == {"sent": 6}  # beyond it
    marketing = queue_rows(store, 2)
    assert deliver_batch(marketing, RuntimeSettings()) == {"held": 2}
    assert all(row.error.startswith("held: provider limit 4 a minute; resumes in ") for row in rows_of(marketing))
    assert deliver_batch(queue_rows(store, 2, "critical"), RuntimeSettings()) == {"sent": 2}
    assert sandbox_count(store) == 11


def test_rows_handed_back_unsent_give_their_slots_back(store, limited):
    limited(minute=5)
    ids = queue_rows(store, 5)
    # No time at all: the batch hands every row back before sending one.
    assert deliver_batch(ids, RuntimeSettings(batch_budget_seconds=0)) == {"handed-back": 5}
    Queue("marketing", connection=get_redis()).empty()
    assert deliver_batch(ids, RuntimeSettings()) == {"sent": 5}
    assert deliver_batch(queue_rows(store, 1), RuntimeSettings()) == {"held": 1}


def test_an_account_without_limits_costs_no_redis_call(store, limited):
    limited()  # the sandbox account, no limits
    assert deliver_batch(queue_rows(store, 3) + queue_rows(store, 1, "critical"), RuntimeSettings()) == {"sent": 4}
    assert get_redis().keys("notifyhub:rate:*") == []


def test_rows_count_against_the_enabled_account_at_their_place_in_the_chain(store):
    def account(code, position, limit=None, enabled=True):
        limits = [{"per": "minute", "limit": limit}] if limit else None
        db.session.add(ProviderConfig(store_id=store.id, channel="email", provider=code, position=position,
                                      enabled=enabled, rate_limits=limits))

    account("mailgun", 0, limit=1, enabled=False)  # switched off: not in the chain
    account("sandbox", 1)
    account("smtp", 2, limit=1)
    db.session.commit()
    first = rows_of(queue_rows(store, 3, provider_index=0))
    second = rows_of(queue_rows(store, 3, provider_index=1))
    admitted = provider_limits.admit(first + second)
    assert [row.id for row in admitted.rows] == [row.id for row in first] + [second[0].id]
    assert admitted.held == 2
