"""The worker class `make run` and production use: `rq worker -w jobs.worker.AppWorker`.

It runs jobs in its own process instead of forking one per job (RQ's SimpleWorker): jobs are
short and take ids, so there is no state to isolate, and skipping the fork is what lets one
worker drain several hundred jobs a second instead of about seventy. The Flask app is built once
when the worker starts, so a bad configuration fails at start-up, not at the first job.

Every worker also runs the outbox sweep as a maintenance task, so stranded notifications are
re-enqueued even after Redis lost every job; the sweep is safe to run on many machines.
"""
from __future__ import annotations

import logging
import time

import redis
from flask import current_app, has_app_context
from rq.exceptions import StopRequested
from rq.worker import SimpleWorker

from jobs.appcontext import runtime_settings, worker_app
from webapp.pipeline.sweep import sweep

QUEUES = ("critical", "transactional", "marketing")
log = logging.getLogger(__name__)


class AppWorker(SimpleWorker):
    # Reconnect within seconds once Redis is back (RQ's default backs off to a minute).
    max_connection_wait_time = 5.0

    def __init__(self, *args, **kwargs):
        # Embedded in a process that already has an app (tests, benchmarks): use that one.
        self.app = current_app._get_current_object() if has_app_context() else worker_app()
        interval = self.app.extensions["runtime_settings"].sweep_interval
        # Set outright: `rq worker` passes its own defaults (600 s, 420 s) explicitly. The TTL also
        # bounds the idle dequeue wait between maintenance runs (RQ blocks for TTL - 15 s).
        kwargs["maintenance_interval"] = interval
        kwargs["worker_ttl"] = interval + 16
        super().__init__(*args, **kwargs)

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        # RQ retries a lost connection inside its dequeue loop but not in the state update that
        # starts it, so a Redis outage longer than one retry would kill the worker. Keep waiting.
        wait = 1.0
        while True:
            try:
                return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except (redis.ConnectionError, redis.TimeoutError) as error:
                log.warning("Redis unreachable (%s); retrying in %.0f s", error, wait)
                time.sleep(wait)
                wait = min(wait * 2, self.max_connection_wait_time)

    def run_maintenance_tasks(self):
        try:
            super().run_maintenance_tasks()
        except (redis.ConnectionError, redis.TimeoutError) as error:
            # RQ's registry clean-up does not survive Redis going away mid-way; the next run redoes it.
            log.warning("RQ maintenance skipped, Redis unreachable: %s", error)
            return
        self.sweep()

    def sweep(self) -> int:
        try:
            with self.app.app_context():
                return sweep(runtime_settings())
        except StopRequested:
            raise  # Ctrl-C / SIGTERM arrived mid-sweep: stop, the next worker sweeps again
        except Exception:
            log.exception("outbox sweep failed; will try again at the next maintenance run")
            return 0
