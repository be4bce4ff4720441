"""A real worker busy with a job when Redis goes away waits for it and carries on; it never exits."""
from __future__ import annotations

import time

import redis
from rq import Queue
from rq.job import Job

from tests.workers import WorkerProcess, wait_for
from webapp.redis_conn import start_embedded_redis, stop_embedded_redis


def test_a_worker_busy_with_a_job_survives_redis_going_away_and_carries_on(app, tmp_path):
    redis_dir = tmp_path / "redis"
    url = start_embedded_redis(redis_dir)
    worker = WorkerProcess(app, url, tmp_path / "worker.log")
    try:
        conn = redis.Redis.from_url(url)
        running = Queue("transactional", connection=conn).enqueue("tests.slow_jobs.sleep", 3)
        wait_for(lambda: running.get_status(refresh=True) == "started", 30, "the job to start")
        stop_embedded_redis(redis_dir)  # its bookkeeping and the heartbeat now meet no Redis
        time.sleep(5)
        assert worker.process.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
        start_embedded_redis(redis_dir)
        conn = redis.Redis.from_url(url)
        after = Queue("critical", connection=conn).enqueue("jobs.maintenance.ping", "after the outage")
        wait_for(lambda: Job.fetch(after.id, connection=conn).get_status() == "finished", 30,
                 "the same worker to run the next job")
        assert worker.process.poll() is None
        assert "Redis answers again" in (tmp_path / "worker.log").read_text()
    finally:
        worker.stop()
        stop_embedded_redis(redis_dir)


def test_a_real_worker_takes_critical_jobs_before_transactional_and_marketing(app, redis_url, tmp_path):
    conn = redis.Redis.from_url(redis_url)
    conn.delete("test:job-order")
    for priority in ("marketing", "transactional", "critical"):  # the backlog first, critical last
        queue = Queue(priority, connection=conn)
        for n in range(5):
            queue.enqueue("tests.slow_jobs.record", f"{priority}-{n}")
    worker = WorkerProcess(app, redis_url, tmp_path / "worker.log")
    try:
        wait_for(lambda: conn.llen("test:job-order") == 15, 60, "all 15 jobs to run")
    finally:
        worker.stop()
    order = [tag.decode().split("-")[0] for tag in conn.lrange("test:job-order", 0, -1)]
    assert order == ["critical"] * 5 + ["transactional"] * 5 + ["marketing"] * 5
