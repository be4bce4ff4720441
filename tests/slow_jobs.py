"""Jobs for worker tests that need one to be running when a fault strikes."""
from __future__ import annotations

import time


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"
