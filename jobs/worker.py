"""The worker class `make run` and production use: `rq worker -w jobs.worker.AppWorker`.

It runs jobs in its own process instead of forking one per job (RQ's SimpleWorker): jobs are
short and take ids, so there is no state to isolate, and skipping the fork is what lets one
worker drain several hundred jobs a second instead of about seventy. The Flask app is built once
when the worker starts, so a bad configuration fails at start-up, not at the first job.

Every worker also runs the outbox sweep on a timer of its own (a thread), not inside RQ's loop:
stranded notifications are re-enqueued even after Redis lost every job, and even while the loop
is busy with a long job or waiting for Redis; the sweep is safe to run on many machines.

A Redis error anywhere in the loop (dequeuing, running a job's bookkeeping, the heartbeat, the
suspension check) makes the worker wait for Redis with a back-off and carry on, never exit: the
job in flight is left to the outbox's recovery, which re-sends only rows whose claim went stale.
(redis-py's default 5 s socket timeout applies to the connection `rq worker` builds from --url, so a
hung Redis surfaces as a TimeoutError within seconds rather than holding the worker.)

With --with-scheduler, RQ forks a scheduler process that holds the scheduler locks and renews
them. If the worker is killed with SIGKILL, that child would live on as an orphan holding them;
here the child asks the kernel for SIGTERM when its parent dies (Linux), and stops cleanly,
releasing its locks, so the next worker's scheduler takes over.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import threading
import time

import redis
from flask import current_app, has_app_context
from rq.exceptions import StopRequested
from rq.worker import SimpleWorker

import jobs.campaigns  # noqa: F401 - imported now, not by the first job (see AppWorker.__init__)
import jobs.deliver  # noqa: F401
from jobs.appcontext import runtime_settings, worker_app
from webapp.channels.providers.registry import providers
from webapp.dispatch.queueing import WORKER_QUEUES
from webapp.pipeline.sweep import sweep

QUEUES = WORKER_QUEUES  # critical first
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
PR_SET_PDEATHSIG = 1
log = logging.getLogger(__name__)
_dies_with_parent = False


def load_providers() -> None:
    """Load every provider plug-in before the first job (about 0.5 s: their SDKs), not inside the
    first delivery, where it made the first critical messages after a worker start wait
    (bench/pipeline.py). Called after the scheduler is forked: loaded before, a killed worker's
    scheduler sometimes failed to release its locks (tests/faults/test_worker_kills.py)."""
    providers()


def forked_children_die_with_this_process() -> None:
    """From now on a child forked by this process gets SIGTERM when this process dies (Linux's
    PR_SET_PDEATHSIG; elsewhere nothing changes)."""
    global _dies_with_parent
    libc_name = ctypes.util.find_library("c")
    if _dies_with_parent or not libc_name or not hasattr(os, "register_at_fork"):
        return
    libc, parent = ctypes.CDLL(libc_name, use_errno=True), os.getpid()

    def in_child() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    os.register_at_fork(after_in_child=in_child)
    _dies_with_parent = True


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
        self.sweep_interval = interval
        self._sweeper_stop = threading.Event()
        self._sweeper_running = False

    def work(self, burst: bool = False, *args, **kwargs):
        if not kwargs.get("with_scheduler"):
            load_providers()
        sweeper = None
        if not burst:  # a burst run (tests, one-off drains) ends before a timer would matter
            sweeper = threading.Thread(target=self._sweep_forever, name="outbox-sweeper", daemon=True)
            sweeper.start()
            self._sweeper_running = True
        try:
            return super().work(burst, *args, **kwargs)
        finally:
            self._sweeper_stop.set()
            if sweeper is not None:
                sweeper.join(timeout=self.sweep_interval + 5)

    def _start_scheduler(self, *args, **kwargs):
        forked_children_die_with_this_process()  # the scheduler is the only child this worker forks
        started = super()._start_scheduler(*args, **kwargs)
        load_providers()  # after the fork: the scheduler child needs none of it
        return started

    def _sweep_forever(self) -> None:
        while not self._sweeper_stop.wait(self.sweep_interval):
            self.sweep()

    def execute_job(self, job, queue):
        try:
            super().execute_job(job, queue)
        except REDIS_ERRORS as error:
            log.warning("Redis failed around job %s (%s); its notifications are left to recovery", job.id, error)
            self.wait_for_redis()

    def heartbeat(self, *args, **kwargs):
        try:
            return super().heartbeat(*args, **kwargs)
        except REDIS_ERRORS as error:
            log.warning("worker heartbeat failed, Redis unreachable: %s", error)
            self.wait_for_redis()

    def check_for_suspension(self, burst: bool):
        try:
            return super().check_for_suspension(burst)
        except REDIS_ERRORS as error:
            log.warning("suspension check failed, Redis unreachable: %s", error)
            self.wait_for_redis()

    def wait_for_redis(self) -> None:
        """Block until Redis answers again (or a stop is requested), backing off to a few seconds."""
        wait = 0.5
        while not self._stop_requested:
            try:
                self.connection.ping()
            except (*REDIS_ERRORS, OSError):
                time.sleep(wait)
                wait = min(wait * 2, self.max_connection_wait_time)
                continue
            log.info("Redis answers again; carrying on")
            return

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
        except REDIS_ERRORS as error:
            # RQ's registry clean-up does not survive Redis going away mid-way; the next run redoes it.
            log.warning("RQ maintenance skipped, Redis unreachable: %s", error)
            return
        if not self._sweeper_running:  # burst mode: sweep once at the start, as before
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
