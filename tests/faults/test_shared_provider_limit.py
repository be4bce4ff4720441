"""Two real worker processes share one provider account limited to 20 messages a minute, with 60
marketing messages queued: counted by the provider's own receive times, no 60-second window ever
holds more than 20, and sending carries on into the next window when the first one's slots free."""
from __future__ import annotations

import re
import time

import pytest
from rq import Worker
from sqlalchemy import select

from tests.conftest import POSTGRES_URL
from tests.faults.harness import RecordingProvider, use_provider
from tests.workers import WorkerProcess, wait_for
from webapp.channels.accounts import set_rate_limits
from webapp.channels.models import ProviderConfig
from webapp.dispatch.models import Notification, NotificationEvent
from webapp.dispatch.queueing import enqueue_ids
from webapp.extensions import db
from webapp.redis_conn import get_redis

LIMIT, WINDOW = 20, 60.0
MESSAGES, PER_JOB = 60, 3  # 20 jobs: the two workers race for the same slots, some granted in part


class TimedProvider(RecordingProvider):
    """The recording provider, also noting when each request arrived (its own clock)."""

    def __init__(self, delay: float):
        super().__init__(delay)
        self.received: list[float] = []

    def handle(self, request):
        with self.lock:
            self.received.append(time.time())
        return super().handle(request)


@pytest.fixture
def timed_provider():
    fake = TimedProvider(delay=0.05)
    yield fake
    fake.close()


def queue_campaign(store) -> list[int]:
    rows = [Notification(store_id=store.id, source="api", message_type="campaign.spring", channel="email",
                         priority="marketing", recipient=f"c{n}@example.test", subject="Spring sale",
                         body=f"20% off, customer {n}", idempotency_key=f"spring-{n}") for n in range(MESSAGES)]
    db.session.add_all(rows)
    db.session.commit()
    ids = [row.id for row in rows]
    for start in range(0, MESSAGES, PER_JOB):
        enqueue_ids("marketing", ids[start:start + PER_JOB])
    return ids


def busiest_window(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + WINDOW) for i, start in enumerate(times))


def test_two_workers_never_exceed_a_shared_per_minute_limit(app, own_redis, store, timed_provider, tmp_path):
    if POSTGRES_URL and app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the limit lives in Redis: one database backend is enough for a minute-long run")
    use_provider(store, timed_provider.server.url, channels=("email",))
    account = db.session.scalar(select(ProviderConfig).where(ProviderConfig.store_id == store.id))
    set_rate_limits(store.id, account.id, [{"per": "minute", "limit": LIMIT}])
    workers = [WorkerProcess(app, own_redis.url, tmp_path / f"worker{n}.log", with_scheduler=True) for n in (1, 2)]
    try:
        # Both ready before the first job, so both take part from the first slot on.
        wait_for(lambda: len(Worker.all(connection=get_redis())) == 2, 30, "both workers to start")
        queue_campaign(store)
        wait_for(lambda: len(timed_provider.received) >= LIMIT, 30, "the first window's messages")
        first_window_ends = min(timed_provider.received) + WINDOW
        wait_for(lambda: len(timed_provider.received) >= 2 * LIMIT, WINDOW + 30, "the second window's messages")
        time.sleep(max(0.0, first_window_ends + 2 - time.time()))  # a moment for anything that should not come
    finally:
        for worker in workers:
            worker.stop()
    received = sorted(timed_provider.received)
    assert busiest_window(received) <= LIMIT
    assert len(received) == 2 * LIMIT, "the third window has not begun"
    assert received[LIMIT] >= received[0] + WINDOW, "the second window began only when the first one's slots freed"
    assert set(timed_provider.calls.values()) == {1}  # each message reached the provider once
    assert _senders() == {str(worker.process.pid) for worker in workers}, "both workers sent part of the campaign"
    assert _held_note_seen()


def _senders() -> set[str]:
    """The process id of every worker that made an attempt ("attempt 1 started on host:pid")."""
    details = db.session.scalars(select(NotificationEvent.detail).where(NotificationEvent.kind == "started"))
    return {re.search(r" on [^:]+:(\d+)", detail).group(1) for detail in details}


def _held_note_seen() -> bool:
    details = db.session.scalars(select(NotificationEvent.detail).where(NotificationEvent.kind == "held"))
    return any(detail.startswith(f"provider limit {LIMIT} a minute; resumes in ") for detail in details)
