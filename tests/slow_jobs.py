"""Jobs for worker tests that need one to be running when a fault strikes."""
from __future__ import annotations

import time


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


def record(tag: str) -> None:
    """Appends `tag` to a Redis list, in the order the worker ran the jobs."""
    from rq import get_current_job

    get_current_job().connection.rpush("test:job-order", tag)
