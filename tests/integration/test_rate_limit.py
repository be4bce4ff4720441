"""The rolling-window limiter against a real Redis: exact to the microsecond over a sliding window
(no double burst at a boundary), partial grants, when the next slot frees, several windows at once,
and several processes and threads together never taking more than the limit."""
from __future__ import annotations

import multiprocessing
import random
import threading
import time

import pytest
import redis

from tests.conftest import make_app
from webapp.channels.rate_limit import (
    ERROR_RETRY_SECONDS,
    PREFIX,
    Grant,
    Limit,
    acquire,
    record,
    settle,
)
from webapp.redis_conn import get_redis

T0 = 1_800_000_000.0  # a fixed moment, so each test decides at exact instants
PER_MINUTE = [Limit("minute", 10)]


@pytest.fixture
def app(database_urls, redis_url, tmp_path):
    """The limiter needs an app only for its Redis connection; no database."""
    app = make_app(database_urls["sqlite"], redis_url, tmp_path)
    redis.Redis.from_url(redis_url).flushdb()
    with app.app_context():
        yield app


def test_a_full_window_frees_exactly_one_window_after_each_grant(app):
    assert acquire("k", PER_MINUTE, 4, at=T0).granted == 4
    assert acquire("k", PER_MINUTE, 6, at=T0 + 30).granted == 6
    refused = acquire("k", PER_MINUTE, 1, at=T0 + 59.999999)
    assert refused.granted == 0 and refused.retry_after == pytest.approx(0.000001, abs=1e-7)
    assert refused.limited_by == Limit("minute", 10)
    assert acquire("k", PER_MINUTE, 10, at=T0 + 60).granted == 4  # only the first grant has left
    assert acquire("k", PER_MINUTE, 1, at=T0 + 61) == Grant(0, 29.0, Limit("minute", 10))


def test_no_double_burst_across_a_boundary(app):
    """Fixed minute windows would take 10 at 0:59 and 10 more at 1:01; a sliding window does not."""
    assert acquire("k", PER_MINUTE, 10, at=T0 + 59).granted == 10
    late = acquire("k", PER_MINUTE, 10, at=T0 + 61)
    assert (late.granted, late.retry_after) == (0, 58.0)


def test_a_partial_grant_takes_what_fits_and_says_when_more_will(app):
    assert acquire("k", PER_MINUTE, 7, at=T0).granted == 7
    grant = acquire("k", PER_MINUTE, 7, at=T0 + 1)
    assert (grant.granted, grant.retry_after) == (3, 59.0)
    assert grant.ticket


def test_every_window_must_have_room_at_once(app):
    limits = [Limit("second", 5), Limit("minute", 8), Limit("day", 20)]
    first = acquire("k", limits, 10, at=T0)
    assert (first.granted, first.retry_after, first.limited_by) == (5, 1.0, Limit("second", 5))
    second = acquire("k", limits, 10, at=T0 + 1)
    assert (second.granted, second.retry_after, second.limited_by) == (3, 59.0, Limit("minute", 8))
    assert acquire("k", limits, 10, at=T0 + 60).granted == 5  # the minute frees 5, the second allows 5
    assert acquire("k", limits, 10, at=T0 + 120).granted == 5
    last = acquire("k", limits, 10, at=T0 + 180)
    assert (last.granted, last.limited_by) == (2, Limit("day", 20))  # 18 of the day's 20 used
    assert last.retry_after == 86400 - 180


def test_recorded_sends_use_the_capacity_even_beyond_the_limit(app):
    assert record("k", PER_MINUTE, 15, at=T0).granted == 15
    assert record("k", PER_MINUTE, 2, at=T0 + 10).granted == 2
    held = acquire("k", PER_MINUTE, 1, at=T0 + 20)
    assert (held.granted, held.retry_after) == (0, 40.0)
    # At T0+60 the 15 have left; the 2 of T0+10 remain.
    assert acquire("k", PER_MINUTE, 10, at=T0 + 60).granted == 8


def test_settled_sends_count_from_when_the_last_one_left_and_unused_ones_come_back(app):
    grant = acquire("k", PER_MINUTE, 10, at=T0)
    settle("k", PER_MINUTE, grant, used=7, at=T0 + 5)  # 3 handed back unsent
    assert acquire("k", PER_MINUTE, 10, at=T0 + 6).granted == 3
    assert acquire("k", PER_MINUTE, 1, at=T0 + 64) == Grant(0, 1.0, Limit("minute", 10))
    assert acquire("k", PER_MINUTE, 10, at=T0 + 65).granted == 7


def test_one_member_per_grant_and_keys_expire_when_idle(app):
    limits = [Limit("second", 500), Limit("day", 100_000)]
    for _ in range(3):
        assert acquire("big", limits, 100).granted == 100
    conn = get_redis()
    day = f"{PREFIX}{{big}}:day"
    assert conn.zcard(day) == 3 and conn.hget(f"{PREFIX}{{big}}", "day") == b"300"
    assert max(len(member) for member in conn.zrange(day, 0, -1)) < 30
    assert 86_400_000 < conn.pttl(day) <= 86_401_000
    assert conn.pttl(f"{PREFIX}{{big}}:second") <= 2000


def test_a_lost_total_is_recounted_from_the_log(app):
    acquire("k", PER_MINUTE, 6, at=T0)
    get_redis().delete(f"{PREFIX}{{k}}")  # evicted, say
    assert acquire("k", PER_MINUTE, 6, at=T0 + 1).granted == 4


def test_without_limits_nothing_is_asked_of_redis(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("redis", None)
    assert acquire("k", [], 40) == Grant(40)
    assert record("k", [], 3) == Grant(3)


def test_a_redis_error_grants_nothing_and_raises_nothing(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    app.extensions.pop("redis", None)
    assert acquire("k", PER_MINUTE, 5) == Grant(0, ERROR_RETRY_SECONDS)
    assert record("k", PER_MINUTE, 5) == Grant(0)
    settle("k", PER_MINUTE, Grant(5, ticket="1.1"), 5)


# --- Several processes and threads at once --------------------------------------------------------

def _contend(app, key, limits, at, seconds, start, results) -> None:
    """Threads of one process asking for random amounts until `seconds` pass; puts what each got."""
    app.extensions.pop("redis", None)  # this process's own connections

    def ask(granted: list[int]) -> None:
        with app.app_context():
            start.wait()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                grant = acquire(key, limits, random.randint(1, 3), at=at)
                granted.append(grant.granted)
                if not grant.granted:
                    time.sleep(min(grant.retry_after, 0.01))

    per_thread = [[] for _ in range(4)]
    threads = [threading.Thread(target=ask, args=(granted,)) for granted in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(sum(sum(granted) for granted in per_thread))


def _run_contenders(app, key, limits, at, seconds, processes=4) -> int:
    fork = multiprocessing.get_context("fork")
    start, results = fork.Event(), fork.Queue()
    workers = [fork.Process(target=_contend, args=(app, key, limits, at, seconds, start, results))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    start.set()
    totals = [results.get(timeout=seconds + 30) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    return sum(totals)


def test_many_processes_at_one_instant_take_exactly_the_limit(app):
    assert _run_contenders(app, "burst", [Limit("minute", 100)], T0, seconds=0.5) == 100


def test_many_processes_over_real_time_never_exceed_any_one_second(app):
    """A day window beside the second keeps every grant's time, so the log can be checked."""
    limits = [Limit("second", 20), Limit("day", 1_000_000)]
    granted = _run_contenders(app, "live", limits, None, seconds=2.5)
    log = [(score, int(member.split(b":")[0])) for member, score in
           get_redis().zrange(f"{PREFIX}{{live}}:day", 0, -1, withscores=True)]
    assert sum(count for _, count in log) == granted  # what the callers got is what was logged
    assert granted >= 20 * 3  # sending went on across several seconds
    for start, _ in log:
        in_window = sum(count for at, count in log if start <= at < start + 1_000_000)
        assert in_window <= 20, f"{in_window} in the second from {start}"
