"""One Flask app per worker process, a decorator that runs a job inside its context, and the
RuntimeSettings built with that app, which jobs hand to the domain code they call."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, has_app_context

from webapp import create_app
from webapp.runtime import RuntimeSettings

_app: Flask | None = None


def worker_app() -> Flask:
    global _app
    if _app is None:
        _app = create_app()
    return _app


def with_app_context(job: Callable) -> Callable:
    @wraps(job)
    def run(*args, **kwargs):
        if has_app_context():
            return job(*args, **kwargs)
        # The context's teardown returns the database session to the pool after every job.
        with worker_app().app_context():
            return job(*args, **kwargs)

    return run


def runtime_settings() -> RuntimeSettings:
    """The settings of the app whose context the job runs in (built once, by create_app)."""
    return current_app.extensions["runtime_settings"]
