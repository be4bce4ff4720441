"""One Flask app per worker process, and a decorator that runs a job inside its context."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, has_app_context

_app: Flask | None = None


def worker_app() -> Flask:
    global _app
    if _app is None:
        from webapp import create_app

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
