"""`make run`: Redis (embedded unless REDIS_URL is set), the web server and one RQ worker.

A child that dies is started again (with a log line, and a back-off if it keeps dying), so a
worker that exits during a Redis restart does not take the dashboard and the webhooks down with
it. Ctrl-C (or SIGTERM) stops every process it started.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from webapp.dispatch.queueing import WORKER_QUEUES
from webapp.redis_conn import start_embedded_redis, stop_embedded_redis

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
# Shared with bench/pipeline.py so the benchmark measures what `make run` serves. Processes beat
# threads for CPU-bound requests under the GIL; a couple of threads each cover I/O waits.
GUNICORN_OPTIONS = ["--workers", os.environ.get("WEB_WORKERS", "3"), "--threads", "2", "--no-control-socket"]
MAX_BACKOFF_SECONDS = 30.0
STABLE_SECONDS = 60.0  # a child that ran this long before dying is restarted at once again


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict
    cwd: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = 0.0
    restart_at: float | None = None
    restarts: int = field(default=0)

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd)
        self.started_at, self.restart_at = time.monotonic(), None


class Supervisor:
    """Keeps its children running until stopped."""

    def __init__(self, children: list[Child], log=print):
        self.children, self.log, self.stopping = children, log, False

    def run(self, poll_seconds: float = 0.3) -> None:
        for child in self.children:
            child.start()
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                self._watch(child, now)
            time.sleep(poll_seconds)
        self._stop_all()

    def _watch(self, child: Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restarts += 1
                child.start()
            return
        code = child.process.poll()
        if code is None:
            return
        ran = now - child.started_at
        child.backoff = 0.0 if ran >= STABLE_SECONDS else min(max(child.backoff * 2, 1.0), MAX_BACKOFF_SECONDS)
        child.restart_at = now + child.backoff
        self.log(f"devserver: {child.name} exited with code {code} after {ran:.0f} s; "
                 f"restarting it in {child.backoff:.0f} s", flush=True)

    def _stop_all(self) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> int:
    env = dict(os.environ)
    embedded = not env.get("REDIS_URL")
    if embedded:
        env["REDIS_URL"] = start_embedded_redis(INSTANCE / "redis")
    port = env.get("PORT", "5000")
    bin_dir = Path(sys.executable).parent
    supervisor = Supervisor([
        # --preload: the app is imported once and forked, so the first page is up seconds sooner.
        Child("web (gunicorn)", [str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN_OPTIONS,
                                 "--preload", "--access-logfile", "-", "webapp:create_app()"], env, ROOT),
        Child("worker (rq)", [str(bin_dir / "rq"), "worker", "--url", env["REDIS_URL"], "--with-scheduler",
                              "-w", "jobs.worker.AppWorker", *WORKER_QUEUES], env, ROOT),
    ])
    print(f"\nNotifyHub is running at http://127.0.0.1:{port}/  (Ctrl-C stops everything)\n", flush=True)

    def stop(*_):
        supervisor.stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        supervisor.run()
    finally:
        if embedded:
            stop_embedded_redis(INSTANCE / "redis")
    return 0


if __name__ == "__main__":
    sys.exit(main())
