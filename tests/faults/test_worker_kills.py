"""Workers killed with SIGKILL mid-run: nothing is lost, nothing waits for a person, and a message
that may have gone out twice shows both attempts on its timeline. A killed worker leaves no
scheduler behind holding RQ's scheduler locks."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import redis
from sqlalchemy import select

from tests.faults.harness import (
    assert_every_message_delivered_once,
    cancellation_orders,
    post_cancellations,
    statuses,
)
from tests.workers import WorkerProcess, wait_for
from webapp.dispatch.models import Notification
from webapp.extensions import db

ORDERS = 100  # 200 messages: an email and an SMS each
KILL_AFTER = (40, 90, 140)  # delivered messages at which the running worker is killed


def test_three_sigkills_during_a_200_message_run(app, client, own_redis, cancelling_store, provider, tmp_path):
    provider.delay = 0.02
    assert set(post_cancellations(client, cancelling_store, cancellation_orders(ORDERS, "K"))) == {200}
    for round_number, threshold in enumerate(KILL_AFTER):
        worker = WorkerProcess(app, own_redis.url, tmp_path / f"worker{round_number}.log")
        try:
            wait_for(lambda threshold=threshold: len(provider.accepted) >= threshold, 60, f"{threshold} deliveries")
            worker.kill()  # mid-delivery: a provider call is very likely in flight
        finally:
            worker.stop()
    assert len(provider.accepted) < 2 * ORDERS, "the run should not have finished before the last kill"
    last = WorkerProcess(app, own_redis.url, tmp_path / "worker-last.log")
    try:
        try:
            wait_for(lambda: len(provider.accepted) == 2 * ORDERS and _settled(), 120, "every message to be sent")
        except AssertionError as timeout:
            raise AssertionError(f"{timeout}: {len(provider.accepted)} accepted; {_unsent()}") from None
    finally:
        last.stop()
    assert_every_message_delivered_once(provider, 2 * ORDERS)
    # At most the messages in flight at each kill reached the provider twice.
    assert sum(provider.calls.values()) - 2 * ORDERS <= 3 * 5


def _settled() -> bool:
    return set(statuses()) == {"sent"}


def _unsent() -> str:
    """What the rows not yet sent are doing, for the failure message."""
    db.session.expire_all()
    rows = db.session.execute(select(Notification.id, Notification.status, Notification.error, Notification.job_id)
                              .where(Notification.status != "sent").limit(10)).all()
    return "; ".join(f"#{row.id} {row.status} {row.error or ''} job={row.job_id}" for row in rows)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def test_a_killed_workers_scheduler_exits_and_releases_its_locks(app, own_redis, tmp_path):
    worker = WorkerProcess(app, own_redis.url, tmp_path / "worker.log", with_scheduler=True)
    conn = redis.Redis.from_url(own_redis.url)
    try:
        wait_for(lambda: conn.keys("rq:scheduler-lock:*"), 20, "the scheduler's locks")
        # Running its loop (signal handlers installed, birth registered), not still starting up.
        wait_for(lambda: conn.keys("rq:scheduler:*"), 20, "the scheduler to register itself")
        # Only now: just before forking the scheduler the worker runs a short-lived child of its own
        # (ctypes' find_library runs ldconfig), which an earlier look could take for the scheduler.
        [scheduler] = wait_for(lambda: _children(worker.process.pid), 20, "the worker's scheduler process")
        worker.kill()
    finally:
        worker.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(scheduler):
        time.sleep(0.1)
    if _alive(scheduler):
        os.kill(scheduler, signal.SIGKILL)
        raise AssertionError("the killed worker's scheduler lived on as an orphan")
    assert conn.keys("rq:scheduler-lock:*") == [], "the orphaned scheduler's locks were not released"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
