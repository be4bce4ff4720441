"""Redis stopped and Redis hung while a busy worker sends and webhooks keep arriving: every
message is delivered once, nothing waits for a person, and every webhook is answered in time."""
from __future__ import annotations

import time

from tests.faults.harness import (
    assert_every_message_delivered_once,
    assert_no_message_sent_twice,
    cancellation_orders,
    post_cancellations,
    statuses,
)
from tests.workers import WorkerProcess, wait_for

OUTAGE_SECONDS = 20
BEFORE, DURING = 15, 10  # orders (two messages each) sent before and during the outage


def _busy_worker(app, own_redis, client, store, provider, tmp_path) -> WorkerProcess:
    """A worker with a backlog: the orders before the outage are posted and the first few sent."""
    worker = WorkerProcess(app, own_redis.url, tmp_path / "worker.log")
    assert set(post_cancellations(client, store, cancellation_orders(BEFORE, "R"))) == {200}
    wait_for(lambda: len(provider.accepted) >= 4, 30, "the first deliveries")
    assert statuses()["sent"] < 2 * BEFORE, "the worker should still be busy when Redis goes"
    return worker


def _webhooks_during(client, store, seconds: float) -> None:
    """Webhooks keep arriving through the outage, each answered within a second."""
    orders, deadline = cancellation_orders(DURING, "D"), time.monotonic() + seconds
    for order in orders:
        assert post_cancellations(client, store, [order], max_seconds=1.0) == [200]
        time.sleep(max(0.0, min(seconds / DURING, deadline - time.monotonic())))
    time.sleep(max(0.0, deadline - time.monotonic()))


def _survives(app, own_redis, client, store, provider, tmp_path, break_redis, mend_redis) -> None:
    """A busy worker, Redis broken for OUTAGE_SECONDS while webhooks arrive, then mended: the worker
    lives on, every message goes out once and the sweep took nothing a live job held."""
    worker = _busy_worker(app, own_redis, client, store, provider, tmp_path)
    try:
        break_redis()
        try:
            _webhooks_during(client, store, OUTAGE_SECONDS)
            assert worker.process.poll() is None, "the worker exited while Redis was away"
        finally:
            mend_redis()
        expected = 2 * (BEFORE + DURING)
        wait_for(lambda: statuses()["sent"] == expected, 90, "every message after Redis came back")
    finally:
        worker.stop()
    assert_every_message_delivered_once(provider, 2 * (BEFORE + DURING))
    assert_no_message_sent_twice(provider)


def test_redis_stopped_for_20_seconds_under_a_busy_worker(app, client, own_redis, cancelling_store, provider,
                                                          tmp_path):
    _survives(app, own_redis, client, cancelling_store, provider, tmp_path, own_redis.stop, own_redis.start)


def test_redis_hung_for_20_seconds_under_a_busy_worker(app, client, own_redis, cancelling_store, provider, tmp_path):
    _survives(app, own_redis, client, cancelling_store, provider, tmp_path, own_redis.hang, own_redis.resume)
