"""`make run`: Redis (embedded unless REDIS_URL is set), the web server and one RQ worker.

Ctrl-C (or SIGTERM) stops every process it started.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from webapp.redis_conn import start_embedded_redis, stop_embedded_redis

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
# Shared with bench/pipeline.py so the benchmark measures what `make run` serves. Processes beat
# threads for CPU-bound requests under the GIL; a couple of threads each cover I/O waits.
GUNICORN_OPTIONS = ["--workers", os.environ.get("WEB_WORKERS", "3"), "--threads", "2", "--no-control-socket"]


def main() -> int:
    env = dict(os.environ)
    embedded = not env.get("REDIS_URL")
    if embedded:
        env["REDIS_URL"] = start_embedded_redis(INSTANCE / "redis")
    port = env.get("PORT", "5000")
    bin_dir = Path(sys.executable).parent
    processes = [
        # --preload: the app is imported once and forked, so the first page is up seconds sooner.
        subprocess.Popen([str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN_OPTIONS, "--preload",
                          "--access-logfile", "-", "webapp:create_app()"], env=env, cwd=ROOT),
        subprocess.Popen([str(bin_dir / "rq"), "worker", "--url", env["REDIS_URL"], "--with-scheduler",
                          "-w", "jobs.worker.AppWorker", "critical", "transactional", "marketing"],
                         env=env, cwd=ROOT),
    ]
    print(f"\nNotifyHub is running at http://127.0.0.1:{port}/  (Ctrl-C stops everything)\n", flush=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(p.poll() is None for p in processes):
        time.sleep(0.3)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    if embedded:
        stop_embedded_redis(INSTANCE / "redis")
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
