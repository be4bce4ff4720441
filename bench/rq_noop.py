"""Bare RQ throughput: how many no-op jobs one worker drains per second, per worker class.

This is the ceiling every pipeline number is compared against. Usage:
    python bench/rq_noop.py [--jobs N] [--redis-url URL]
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import redis
from rq import Queue
from rq.worker import SimpleWorker, Worker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import default_redis_url  # noqa: E402
from jobs.maintenance import noop  # noqa: E402

QUEUE = "bench-noop"


def _drain(url: str, worker_class: type) -> None:
    conn = redis.Redis.from_url(url)
    worker_class([Queue(QUEUE, connection=conn)], connection=conn).work(burst=True, logging_level="WARNING")


def measure(url: str, worker_class: type, jobs: int, workers: int = 1) -> float:
    """Jobs per second drained by `workers` processes of `worker_class`."""
    conn = redis.Redis.from_url(url)
    queue = Queue(QUEUE, connection=conn)
    queue.empty()
    with conn.pipeline() as pipe:
        for _ in range(jobs):
            queue.enqueue(noop, result_ttl=0, pipeline=pipe)
        pipe.execute()
    started = time.perf_counter()
    procs = [multiprocessing.Process(target=_drain, args=(url, worker_class)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    return jobs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    url = args.redis_url or default_redis_url()
    for worker_class in (SimpleWorker, Worker):
        jobs = args.jobs if worker_class is SimpleWorker else max(args.jobs // 5, 200)
        rate = measure(url, worker_class, jobs)
        print(f"{worker_class.__name__:<13} 1 worker  {rate:8.0f} no-op jobs/s  ({jobs} jobs)")


if __name__ == "__main__":
    main()
