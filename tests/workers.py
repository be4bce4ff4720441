"""Real `rq worker` processes for tests that kill workers or take Redis away."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jobs.worker import QUEUES

ROOT = Path(__file__).resolve().parent.parent


class WorkerProcess:
    def __init__(self, app, redis_url: str, log_path: Path, *, with_scheduler: bool = False,
                 database_url: str | None = None):
        env = {
            **os.environ,
            "DATABASE_URL": database_url or app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": redis_url,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "ENCRYPTION_KEY": app.config["ENCRYPTION_KEY"],
            "RETRY_BASE_SECONDS": "0",
            "SWEEP_INTERVAL": "1",
            "SWEEP_UNQUEUED_GRACE": "0.5",
            "SWEEP_REQUEUE_AFTER": "1",
            "BATCH_BUDGET_SECONDS": "1",  # so the lease of a killed worker's rows runs out in seconds
            "PROVIDER_CALL_SECONDS": "1",
        }
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        rq = Path(sys.executable).parent / "rq"
        self.process = subprocess.Popen(
            [str(rq), "worker", "-w", "jobs.worker.AppWorker", "--url", redis_url, *QUEUES,
             *(["--with-scheduler"] if with_scheduler else [])],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if not self.log.closed:
            self.log.close()


def wait_for(condition, timeout: float, message: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
