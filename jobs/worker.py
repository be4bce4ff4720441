"""The worker class `make run` and production use: `rq worker -w jobs.worker.AppWorker`.

It runs jobs in its own process instead of forking one per job (RQ's SimpleWorker): jobs are
short and take ids, so there is no state to isolate, and skipping the fork is what lets one
worker drain several hundred jobs a second instead of about seventy. The Flask app is built once
when the worker starts, so a bad configuration fails at start-up, not at the first job.
"""
from __future__ import annotations

from rq.worker import SimpleWorker

from jobs.appcontext import worker_app

QUEUES = ("critical", "transactional", "marketing")


class AppWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        worker_app()
