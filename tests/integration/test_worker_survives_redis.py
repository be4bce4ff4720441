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
