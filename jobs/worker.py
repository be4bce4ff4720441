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

from flask import current_app, has_app_context
from rq.worker import SimpleWorker

from jobs.appcontext import worker_app

QUEUES = ("critical", "transactional", "marketing")
SWEEP_INTERVAL = 15
log = logging.getLogger(__name__)


class AppWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("maintenance_interval", SWEEP_INTERVAL)
        # A short TTL bounds how long a killed worker looks alive, and with it the dequeue wait
        # between maintenance runs (RQ blocks for TTL - 15 s).
        kwargs.setdefault("worker_ttl", SWEEP_INTERVAL + 20)
        super().__init__(*args, **kwargs)
        # Embedded in a process that already has an app (tests, benchmarks): use that one.
        self.app = current_app._get_current_object() if has_app_context() else worker_app()

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        self.sweep()

    def sweep(self) -> int:
        from webapp.notifications.recovery import sweep

        try:
            with self.app.app_context():
                return sweep()
        except Exception:
            log.exception("outbox sweep failed; will try again at the next maintenance run")
            return 0
