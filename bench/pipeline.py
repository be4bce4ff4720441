"""End-to-end pipeline benchmark: signed Shopify webhooks over HTTP → gunicorn → outbox → RQ → providers.

Sets up its own database schema, Redis database, store, rule and local fake providers, runs the real
web server and `rq worker -w jobs.worker.AppWorker` processes, prints the numbers and writes them to
bench/RESULTS.md (a hand-written "## Analysis" section at its end is kept). Never a timed test.
    python bench/pipeline.py [--events N] [--workers 1,2] [--database-url URL]
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import fcntl
import json
import logging
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis
from cryptography.fernet import Fernet
from rq import Queue, Worker
from rq.worker import SimpleWorker
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fake_provider  # noqa: E402
from bench.machine import default_redis_url, describe, local_postgres_schema  # noqa: E402
from bench.rq_noop import measure  # noqa: E402
from jobs.deliver import deliver_notifications  # noqa: E402
from jobs.maintenance import noop  # noqa: E402
from jobs.worker import QUEUES, AppWorker  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.accounts.provisioning import create_store  # noqa: E402
from webapp.channels.models import ProviderConfig  # noqa: E402
from webapp.crypto import Vault  # noqa: E402
from webapp.devserver import GUNICORN_OPTIONS  # noqa: E402
from webapp.dispatch.models import Notification  # noqa: E402
from webapp.events.integrations import set_secret  # noqa: E402
from webapp.events.signatures import hmac_sha256_base64  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.notifications.rule_store import load_rules, save_rules  # noqa: E402
from webapp.notifications.rules import RuleKey, RuleState  # noqa: E402
from webapp.orders.models import Order  # noqa: E402

PG_SCHEMA = "notifyhub_bench"
FIXTURE = ROOT / "tests" / "fixtures" / "shopify" / "order.json"
RESULTS = ROOT / "bench" / "RESULTS.md"
ANALYSIS_HEADING = "## Analysis"
KEPT_HEADINGS = ("## Providers", ANALYSIS_HEADING)
STORE_SLUG = "bench"
OTHER_POSTGRES = "postgres (background, other clients)"
OTHER = "rest of the machine"
APP_NAME = "notifyhub-bench"  # PGAPPNAME of every process we start: finds our PostgreSQL backends
TOPIC = "orders/cancelled"  # planned as critical messages, one per channel
CHANNELS = ("email", "sms")
BASE_ORDER_ID = 7_000_000_000
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}

TARGET_ACK_P99_MS = 50.0
TARGET_RATIO = 0.5
TARGET_CRITICAL_P99_S = 0.25  # issue 16: critical within 250 ms at p99 behind 50,000 marketing jobs
FOREIGN_LOAD_WARNING = 0.25  # cores used by others during a phase before the report warns


# ---------------------------------------------------------------------------------------------- numbers


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


@dataclass
class Sent:
    external_id: str
    at: float  # time.time() just before the request
    latency: float  # seconds until the answer was read
    status: int
    notifications: int


@dataclass
class Phase:
    name: str
    workers: int
    sent: list[Sent]
    send_seconds: float
    arrivals: dict[int, float]  # notification id → first arrival at the fake provider (this phase's only)
    rows: list  # (notification id, status, channel, order external id, created_at, queued_at, claimed_at, ...)
    workers_started_at: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    busy_cores: float = math.nan
    wall: float = math.nan  # seconds the CPU was measured over
    backlog_before: int | None = None
    backlog_after: int | None = None
    complete: bool = True

    def foreign_cores(self) -> float:
        """Cores used by what this benchmark did not start (other PostgreSQL clients, other processes)."""
        return (self.cpu.get(OTHER, 0.0) + self.cpu.get(OTHER_POSTGRES, 0.0)) / self.wall if self.wall > 0 else 0.0

    @property
    def expected(self) -> int:
        return sum(s.notifications for s in self.sent)

    def acks(self) -> list[float]:
        return [s.latency for s in self.sent]

    def failed_webhooks(self) -> Counter:
        return Counter(s.status for s in self.sent if s.status != 200)

    def event_to_sent(self) -> list[float]:
        sent_at = {s.external_id: s.at for s in self.sent}
        return [self.arrivals[r.id] - sent_at[r.external_id] for r in self.rows
                if r.id in self.arrivals and r.external_id in sent_at]

    def throughput(self) -> float:
        """Notifications per second from the first webhook sent to the last message delivered."""
        if not self.arrivals:
            return 0.0
        return len(self.arrivals) / (max(self.arrivals.values()) - min(s.at for s in self.sent))

    def drain_rate(self) -> float:
        """Notifications per second between the first and the last delivery (workers started late)."""
        if len(self.arrivals) < 2:
            return 0.0
        times = self.arrivals.values()
        return (len(self.arrivals) - 1) / (max(times) - min(times))

    def statuses(self) -> Counter:
        return Counter(r.status for r in self.rows)

    def stages(self) -> dict[str, float]:
        """Median seconds spent in each stage, from the outbox's own timestamps."""
        sent_at = {s.external_id: s.at for s in self.sent}
        spans: dict[str, list[float]] = {"webhook → outbox row": [], "row → queued": [], "queued → claimed": [],
                                         "claimed → at provider": [], "at provider → recorded": []}
        for r in self.rows:
            if r.id not in self.arrivals or None in (r.created_at, r.queued_at, r.claimed_at, r.finished_at):
                continue
            arrival = self.arrivals[r.id]
            created, queued = r.created_at.timestamp(), r.queued_at.timestamp()
            claimed, finished = r.claimed_at.timestamp(), r.finished_at.timestamp()
            spans["webhook → outbox row"].append(created - sent_at[r.external_id])
            spans["row → queued"].append(queued - created)
            spans["queued → claimed"].append(claimed - queued)
            spans["claimed → at provider"].append(arrival - claimed)
            spans["at provider → recorded"].append(finished - arrival)
        return {name: percentile(values, 50) for name, values in spans.items()}


# ------------------------------------------------------------------------------------------ CPU accounting


def _proc_stats() -> list[tuple[int, str, int, float]]:
    """(pid, command name, process group, CPU seconds) of every process."""
    tick = os.sysconf("SC_CLK_TCK")
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            comm, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 1:].split()
        except (OSError, ValueError):
            continue
        found.append((int(entry.name), comm, int(fields[2]), (int(fields[11]) + int(fields[12])) / tick))
    return found


def _machine_busy() -> tuple[float, float]:
    """Busy and total CPU seconds of the machine so far (all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values) - idle) / tick, sum(values) / tick


def settle(max_seconds: float, quiet_cores: float = 0.3, sample: float = 2.0) -> tuple[float, float]:
    """Wait (at most max_seconds) until the machine uses fewer than `quiet_cores` cores over a sample; returns
    (cores busy in the last sample, seconds waited)."""
    started = time.monotonic()
    while True:
        busy0, total0 = _machine_busy()
        time.sleep(sample)
        busy1, total1 = _machine_busy()
        cores = (busy1 - busy0) / max(1e-9, (total1 - total0) / (os.cpu_count() or 1))
        waited = time.monotonic() - started
        if cores < quiet_cores or waited + sample > max_seconds:
            return cores, waited


class CpuMeter:
    """CPU seconds spent by our processes (by process group or pid), by the PostgreSQL backends serving our
    connections (found by application name), by redis-server (the whole server) and by the rest of the machine."""

    def __init__(self, groups: Callable[[], dict[str, set[int]]], pids: Callable[[], dict[str, set[int]]],
                 database_url: str):
        self.groups, self.pids = groups, pids
        self.engine = create_engine(database_url, poolclass=NullPool) if database_url.startswith("postgres") \
            else None

    def _backends(self) -> set[int]:
        if self.engine is None:
            return set()
        with self.engine.connect() as conn:
            return set(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                                    {"name": APP_NAME}))

    def snapshot(self) -> dict:
        """CPU seconds so far of every process we can attribute, by pid: {"pids": {pid: (category, cpu)}, ...}."""
        groups, pids = self.groups(), {**self.pids(), "postgres (our connections)": self._backends()}
        seen: dict[int, tuple[str, float]] = {}
        for pid, comm, pgrp, cpu in _proc_stats():
            name = next((n for n, members in groups.items() if pgrp in members), None) \
                or next((n for n, members in pids.items() if pid in members), None) \
                or ("redis-server" if comm == "redis-server" else OTHER_POSTGRES if comm == "postgres" else None)
            if name:
                seen[pid] = (name, cpu)
        own = os.times()
        seen[os.getpid()] = ("bench (sender)", own.user + own.system)  # with its threads
        busy, total = _machine_busy()
        return {"pids": seen, "busy": busy, "total": total, "names": [*groups, *pids]}

    @staticmethod
    def delta(before: dict, after: dict) -> tuple[dict[str, float], float, float]:
        """(CPU seconds per category, with the rest of the machine as OTHER; busy cores; wall seconds).

        Per process: one that started in between counts from zero, one that ended in between is lost to OTHER."""
        spent = dict.fromkeys(["bench (sender)", "redis-server", OTHER_POSTGRES, *before["names"], *after["names"]],
                              0.0)
        for pid, (name, cpu) in after["pids"].items():
            was = before["pids"].get(pid)
            spent[name] += max(0.0, cpu - (was[1] if was and was[0] == name else 0.0))
        busy = after["busy"] - before["busy"]
        spent[OTHER] = max(0.0, busy - sum(spent.values()))
        wall = (after["total"] - before["total"]) / (os.cpu_count() or 1)
        return spent, busy / wall if wall > 0 else math.nan, wall


# ------------------------------------------------------------------------------------------ the services


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _binary(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    venv = ROOT / ".venv" / "bin" / name
    if venv.exists():
        return str(venv)
    raise SystemExit(f"{name} not found next to {sys.executable}; run with the project's virtualenv")


class Services:
    """The subprocesses this benchmark starts; every one is stopped by `stop_all()`."""

    def __init__(self, tmp: Path, env: dict[str, str]):
        self.tmp, self.env = tmp, env
        self.running: dict[str, subprocess.Popen] = {}
        self.logs: list[Path] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        self.logs.append(log)
        with log.open("ab") as out:
            proc = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # its own process group: children are ours too
        self.running[name] = proc
        return proc

    def stop(self, name: str, timeout: float = 15.0) -> None:
        proc = self.running.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)

    def groups(self, prefix: str) -> set[int]:
        return {proc.pid for name, proc in self.running.items() if name.startswith(prefix)}


def start_web(services: Services, port: int, timeout: float = 30.0) -> str:
    services.start("gunicorn", [_binary("gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN_OPTIONS,
                                "webapp:create_app()"])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if services.running["gunicorn"].poll() is not None:
            raise RuntimeError("gunicorn exited at start; see its log")
        try:
            if httpx.get(f"{url}/login", timeout=2).status_code < 500:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s")


def start_workers(services: Services, conn: redis.Redis, redis_url: str, count: int, tag: str,
                  timeout: float = 30.0) -> float:
    """Start `count` production workers and wait until they are registered; returns when they were."""
    before = Worker.count(connection=conn)
    for i in range(count):
        services.start(f"worker-{tag}-{i}", [_binary("rq"), "worker", "-w", "jobs.worker.AppWorker", "--url",
                                             redis_url, "--name", f"bench-{tag}-{i}-{secrets.token_hex(3)}",
                                             *QUEUES])
    deadline = time.monotonic() + timeout
    while Worker.count(connection=conn) < before + count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} worker(s) did not register within {timeout:.0f} s; see their logs")
        time.sleep(0.05)
    return time.time()


def stop_workers(services: Services) -> None:
    for name in [n for n in services.running if n.startswith("worker-")]:
        services.stop(name)


def wait_for(counter: Callable[[], int], target: int, timeout: float, stall: float = 30.0) -> bool:
    """Poll until counter() reaches target; False on timeout or when nothing moved for `stall` seconds."""
    started = last_change = time.monotonic()
    last = counter()
    while last < target:
        time.sleep(0.05)
        now, value = time.monotonic(), counter()
        if value != last:
            last, last_change = value, now
        if now - started > timeout or now - last_change > stall:
            return False
    return True


# ---------------------------------------------------------------------------------------------- database


def choose_database(url: str | None, tmp: Path) -> tuple[str, str, Callable[[], None] | None]:
    """(SQLAlchemy URL, description, teardown or None for "drop the tables"). Only local databases: the
    benchmark wipes what it uses."""
    if url:
        host = urlsplit(url).hostname or ""
        if not url.startswith("sqlite") and host not in LOCAL_HOSTS:
            raise SystemExit(f"refusing to wipe a database on {host}: only local databases are allowed")
        return url, _redact(url), None
    found = local_postgres_schema(PG_SCHEMA)
    if found is None:
        print("PostgreSQL not reachable; using SQLite", file=sys.stderr)
        return f"sqlite:///{tmp / 'bench.sqlite3'}", "SQLite file (PostgreSQL was not reachable)", lambda: None
    url, version, drop_schema = found
    return url, f"PostgreSQL {version} at 127.0.0.1:5432, schema {PG_SCHEMA}", drop_schema


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


def set_up_store(app, key: str, shopify_secret: str, signing_secret: str, provider_url: str) -> None:
    with app.app_context():
        db.drop_all()
        db.create_all()
        store = create_store(STORE_SLUG, "Bench Goods")
        set_secret(store.id, "shopify", shopify_secret)
        rules = load_rules(store.id)
        rules[RuleKey("order", "shopify", "cancelled")] = RuleState(True, frozenset(CHANNELS))
        save_rules(store.id, None, rules)
        secrets_encrypted = Vault(key).encrypt(json.dumps({"signing_secret": signing_secret}))
        for channel in CHANNELS:
            db.session.add(ProviderConfig(store_id=store.id, channel=channel, provider="webhook", position=0,
                                          enabled=True, base_url=f"{provider_url}/{channel}",
                                          secrets_encrypted=secrets_encrypted))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()  # no pooled connection may be inherited by a forked process


def outbox_rows(app, external_ids: list[str]) -> list:
    n = Notification
    with app.app_context():
        rows = db.session.execute(
            select(n.id, n.status, n.channel, Order.external_id, n.created_at, n.queued_at, n.claimed_at,
                   n.sent_at, n.finished_at, n.error)
            .join(Order, Order.id == n.order_id).where(Order.external_id.in_(external_ids))
        ).all()
        db.session.remove()
    return rows


# ------------------------------------------------------------------------------------------------ sending


class Orders:
    """Distinct signed Shopify orders/cancelled webhooks built from the real fixture."""

    def __init__(self, secret: str):
        self.secret = secret
        self.template = json.loads(FIXTURE.read_text())["order"]
        self.next_number = 1

    def batch(self, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
        built = []
        for n in range(self.next_number, self.next_number + count):
            order = copy.deepcopy(self.template)
            email, phone = f"customer{n}@example.com", f"+1415555{n % 10000:04d}"
            order.update(id=BASE_ORDER_ID + n, name=f"#{n}", order_number=n, email=email, phone=phone,
                         cancelled_at="2024-05-01T12:00:00-05:00", updated_at="2024-05-01T12:00:00-05:00",
                         cancel_reason="customer")
            order["customer"] = {**order["customer"], "id": BASE_ORDER_ID + n, "email": email, "phone": phone}
            body = json.dumps(order).encode()
            headers = {"Content-Type": "application/json", "X-Shopify-Topic": TOPIC,
                       "X-Shopify-Webhook-Id": f"bench-{n}-{secrets.token_hex(4)}",
                       "X-Shopify-Shop-Domain": "bench.myshopify.com",
                       "X-Shopify-Hmac-Sha256": hmac_sha256_base64(self.secret, body)}
            built.append((str(BASE_ORDER_ID + n), body, headers))
        self.next_number += count
        return built


def send(client: httpx.Client, url: str, payloads: list, threads: int, rate: float | None = None) -> tuple[list, float]:
    """POST every payload from `threads` threads, paced at `rate` per second if given. Returns (sent, seconds)."""
    results: list[Sent | None] = [None] * len(payloads)
    lock, cursor = threading.Lock(), iter(range(len(payloads)))
    started = time.perf_counter()

    def run() -> None:
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            if rate:
                time.sleep(max(0.0, started + i / rate - time.perf_counter()))
            external_id, body, headers = payloads[i]
            at, t0 = time.time(), time.perf_counter()
            status, count = 0, 0
            try:
                response = client.post(url, content=body, headers=headers)
                status = response.status_code
                count = response.json().get("notifications", 0) if status == 200 else 0
            except (httpx.HTTPError, ValueError):
                pass
            results[i] = Sent(external_id, at, time.perf_counter() - t0, status, count)

    with ThreadPoolExecutor(threads, thread_name_prefix="sender") as pool:
        for future in [pool.submit(run) for _ in range(threads)]:
            future.result()
    return [r for r in results if r is not None], time.perf_counter() - started


# ---------------------------------------------------------------------------------------------- the run


@dataclass
class Context:
    args: argparse.Namespace
    app: object
    conn: redis.Redis
    redis_url: str
    services: Services
    fake: fake_provider.FakeProvider
    client: httpx.Client
    webhook_url: str
    orders: Orders
    meter: CpuMeter


def _arrivals(ctx: Context, rows: list) -> dict[int, float]:
    wanted = {r.id for r in rows}
    arrivals: dict[int, float] = {}
    for notification_id, _path, at in ctx.fake.stats()["arrivals"]:
        if notification_id in wanted:
            arrivals.setdefault(notification_id, at)
    return arrivals


def _finish(ctx: Context, phase_name: str, workers: int, sent: list[Sent], seconds: float, complete: bool,
            before: dict, **extra) -> Phase:
    cpu, busy, wall = CpuMeter.delta(before, ctx.meter.snapshot())
    stop_workers(ctx.services)
    rows = outbox_rows(ctx.app, [s.external_id for s in sent])
    return Phase(phase_name, workers, sent, seconds, _arrivals(ctx, rows), rows, cpu=cpu, busy_cores=busy, wall=wall,
                 complete=complete, **extra)


def _delivery_timeout(expected: int) -> float:
    return 60 + expected / 10


def live_phase(ctx: Context, workers: int) -> Phase:
    """Workers running while webhooks arrive as fast as `--threads` clients can send them."""
    start_workers(ctx.services, ctx.conn, ctx.redis_url, workers, f"live{workers}")
    base, before = ctx.fake.delivered(), ctx.meter.snapshot()
    sent, seconds = send(ctx.client, ctx.webhook_url, ctx.orders.batch(ctx.args.events), ctx.args.threads)
    expected = sum(s.notifications for s in sent)
    complete = wait_for(ctx.fake.delivered, base + expected, _delivery_timeout(expected))
    return _finish(ctx, f"live, {workers} worker(s)", workers, sent, seconds, complete, before)


def drain_phase(ctx: Context, workers: int) -> tuple[Phase, Phase]:
    """All webhooks first (no worker running), then workers drain the queue: isolates both sides."""
    before = ctx.meter.snapshot()
    sent, seconds = send(ctx.client, ctx.webhook_url, ctx.orders.batch(ctx.args.events), ctx.args.threads)
    middle = ctx.meter.snapshot()
    cpu, busy, wall = CpuMeter.delta(before, middle)
    ingest = Phase(f"webhooks only, no worker (before drain {workers})", 0, sent, seconds, {}, [], cpu=cpu,
                   busy_cores=busy, wall=wall)
    base, expected = ctx.fake.delivered(), sum(s.notifications for s in sent)
    started = start_workers(ctx.services, ctx.conn, ctx.redis_url, workers, f"drain{workers}")
    complete = wait_for(ctx.fake.delivered, base + expected, _delivery_timeout(expected))
    drain = _finish(ctx, f"drain, {workers} worker(s)", workers, sent, seconds, complete, middle,
                    workers_started_at=started)
    return ingest, drain


def critical_phase(ctx: Context) -> Phase:
    """Critical messages sent while the marketing queue holds a large backlog of jobs."""
    marketing = Queue("marketing", connection=ctx.conn)
    marketing.empty()
    t0 = time.perf_counter()
    remaining = ctx.args.backlog
    while remaining > 0:
        with ctx.conn.pipeline() as pipe:
            for _ in range(min(1000, remaining)):
                marketing.enqueue(noop, result_ttl=0, pipeline=pipe)
            pipe.execute()
        remaining -= 1000
    print(f"  enqueued {len(marketing)} no-op jobs on marketing in {time.perf_counter() - t0:.1f} s", flush=True)
    start_workers(ctx.services, ctx.conn, ctx.redis_url, 1, "critical")
    full = len(marketing)
    wait_for(lambda: full - len(marketing), 50, timeout=20)  # the worker is busy with the backlog
    backlog_before = len(marketing)
    base, before = ctx.fake.delivered(), ctx.meter.snapshot()
    payloads = ctx.orders.batch(ctx.args.critical_events)
    sent, seconds = send(ctx.client, ctx.webhook_url, payloads, ctx.args.threads, rate=ctx.args.critical_rate)
    expected = sum(s.notifications for s in sent)
    complete = wait_for(ctx.fake.delivered, base + expected, timeout=60)
    backlog_after = len(marketing)  # read after the last arrival: a lower bound of the backlog at that moment
    phase = _finish(ctx, f"critical at {ctx.args.critical_rate:.0f}/s, marketing backlog", 1, sent, seconds,
                    complete, before, backlog_before=backlog_before, backlog_after=backlog_after)
    marketing.empty()
    return phase


def baselines(ctx: Context) -> dict[tuple[str, int], float]:
    """Bare RQ no-op jobs per second, same Redis, production worker class and its parent class."""
    rates = {}
    with ctx.app.app_context():  # AppWorker in the forked drainers reuses this app: no start-up in the timing
        for worker_class in (AppWorker, SimpleWorker):
            for workers in ctx.args.workers:
                rates[(worker_class.__name__, workers)] = measure(ctx.redis_url, worker_class, ctx.args.noop_jobs,
                                                                  workers)
                print(f"  {worker_class.__name__:<12} {workers} worker(s): "
                      f"{rates[(worker_class.__name__, workers)]:6.0f} no-op jobs/s", flush=True)
        db.session.remove()
        db.engine.dispose()
    Queue("bench-noop", connection=ctx.conn).empty()
    return rates


def _statement_label(sql: str) -> str:
    words = sql.split()
    verb = words[0].upper()
    if verb == "SELECT":
        upper = [w.upper() for w in words]
        table = words[upper.index("FROM") + 1] if "FROM" in upper else "(no table)"
    elif verb in ("INSERT", "DELETE"):
        table = words[2]
    else:
        table = words[1]
    return f"{verb} {table}"


def count_statements(ctx: Context, events: int = 10) -> dict[str, Counter]:
    """SQL statements, commits and connection checkouts (each runs the pool's pre-ping) per webhook and per
    delivered notification, counted in this process running the same code as the servers."""
    counts: Counter = Counter()

    def on_execute(conn, cursor, statement, *_):
        counts[_statement_label(statement)] += 1
        counts["statements"] += 1

    def on_commit(*_):
        counts["commits"] += 1

    def on_checkout(*_):
        counts["checkouts"] += 1

    with ctx.app.app_context():
        engine = db.engine
    listeners = [(engine, "before_cursor_execute", on_execute), (engine, "commit", on_commit),
                 (engine.pool, "checkout", on_checkout)]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    critical = Queue("critical", connection=ctx.conn)
    try:
        client = ctx.app.test_client()
        path = f"/webhooks/shopify/{STORE_SLUG}"
        for i, (_, body, headers) in enumerate(ctx.orders.batch(1 + events)):
            if i == 1:
                counts.clear()  # the first webhook warmed caches; count the others
            response = client.post(path, data=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"webhook answered {response.status_code}: {response.get_data(as_text=True)}")
        webhook = Counter({k: v / events for k, v in counts.items()})
        jobs = critical.jobs
        critical.empty()
        counts.clear()
        delivered = 0
        for job in jobs:
            with ctx.app.app_context():  # one context per job, as the worker's with_app_context does
                delivered += sum(deliver_notifications(*job.args).values())
        notification = Counter({k: v / max(1, delivered) for k, v in counts.items()})
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
        with ctx.app.app_context():
            db.session.remove()
            db.engine.dispose()
    return {"webhook": webhook, "notification": notification}


def log_problems(services: Services) -> list[str]:
    """Error lines from the web server's and workers' logs (deduplicated, with counts)."""
    pattern = re.compile(r"Traceback|ERROR|CRITICAL|Exception|exception|failed|Error:|WARNING")
    found: Counter = Counter()
    for log in services.logs:
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            if pattern.search(line) and "Worker rq:worker" not in line:
                found[f"{log.stem.split('-')[0]}: {re.sub(r'^[0-9-]+ [0-9:,.]+ ', '', line.strip())[:200]}"] += 1
    return [f"{count}× {line}" for line, count in found.most_common(15)]


# --------------------------------------------------------------------------------------------- reporting


def _yes(met: bool) -> str:
    return "met" if met else "**missed**"


def report(args, machine: str, database: str, redis_url: str, load: tuple, load_after: tuple, rates: dict,
           phases: list[Phase], statements: dict[str, Counter], fake_stats: dict, problems: list[str],
           duration: float) -> str:
    lines = [
        "# Benchmark results", "",
        f"Generated by `bench/pipeline.py` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC in {duration:.0f} s.", "",
        f"- Machine: {machine}",
        f"- Before the run: {load[3]:.2f} cores busy (after waiting {load[4]:.0f} s for a quiet moment), load average "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min); after it: "
        f"{load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f}",
        f"- Database: {database}",
        f"- Redis: {_redact(redis_url)} (flushed before and after)",
        f"- Web: gunicorn {' '.join(GUNICORN_OPTIONS)} 'webapp:create_app()' on 127.0.0.1; workers: "
        "`rq worker -w jobs.worker.AppWorker critical transactional marketing`",
        "- Providers: the generic webhook provider for email and sms, pointed at `bench/fake_provider.py` "
        "(a separate process answering 200 at once)",
        f"- Command: `{' '.join(['python', 'bench/pipeline.py', *sys.argv[1:]])}` "
        f"(events {args.events}, workers {','.join(map(str, args.workers))}, {args.threads} sending threads)",
        "",
    ]
    busiest = max(phases, key=Phase.foreign_cores, default=None)
    if busiest is not None and busiest.foreign_cores() > FOREIGN_LOAD_WARNING:
        lines += [f"**Caution:** work this benchmark did not start used up to {busiest.foreign_cores():.2f} of the "
                  f"{os.cpu_count()} cores (phase “{busiest.name}”); numbers from such phases are pessimistic. "
                  "See the last column of the CPU table.", ""]
    lines += [
        "## Targets", "",
        "| target | measured | result |",
        "|---|---|---|",
    ]
    live = [p for p in phases if p.name.startswith("live")]
    for p in phases:
        if p.workers_started_at is not None:
            continue  # a drain phase: its webhooks are the row before it
        p99 = percentile(p.acks(), 99)
        met = p99 * 1000 < TARGET_ACK_P99_MS
        lines.append(f"| webhook ack p99 < {TARGET_ACK_P99_MS:.0f} ms ({p.name}) | {ms(p99)} | {_yes(met)}"
                     f"{'' if met else f' ({p99 * 1000 / TARGET_ACK_P99_MS:.1f}× the target)'} |")
    for p in live:
        base = rates.get(("AppWorker", p.workers), math.nan)
        ratio = p.throughput() / base if base else math.nan
        lines.append(f"| end-to-end ≥ {TARGET_RATIO:.1f} × bare RQ no-op ({p.name}) | {p.throughput():.0f} "
                     f"notifications/s vs {base:.0f} no-op jobs/s = {ratio:.2f} | {_yes(ratio >= TARGET_RATIO)} |")
    for p in phases:
        if p.name.startswith("critical"):
            p99 = percentile(p.event_to_sent(), 99)
            lines.append(f"| critical event→sent p99 < {TARGET_CRITICAL_P99_S * 1000:.0f} ms while marketing is full | "
                         f"{ms(p99)} ({p.backlog_before} marketing jobs queued when the first was sent, "
                         f"{p.backlog_after} still queued after the last one) | "
                         f"{_yes(p99 < TARGET_CRITICAL_P99_S)} |")
    lines += ["", "## Bare RQ no-op jobs (same Redis, same run)", "", "| worker class | workers | jobs/s |",
              "|---|---|---|"]
    lines += [f"| {name} | {workers} | {rate:.0f} |" for (name, workers), rate in rates.items()]
    lines += ["", f"{args.noop_jobs} jobs per measurement, `bench.rq_noop.measure` (from the first fork to the "
              "last job; AppWorker reuses an already built app).", "",
              "## Pipeline", "",
              "Two notifications (email + sms, critical priority) per `orders/cancelled` webhook. "
              "*Throughput* = delivered / (last arrival at the provider − first webhook sent); "
              "*drain* = delivered / (last − first arrival) with the workers started only after every webhook "
              "was answered. Event→sent = arrival at the fake provider − that order's webhook send time.", "",
              "| phase | webhooks | webhooks/s | ack p50 | ack p99 | ack max | delivered | notif/s | "
              "event→sent p50 | p99 | max |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in phases:
        e2s, acks = p.event_to_sent(), p.acks()
        rate = p.drain_rate() if p.name.startswith("drain") else p.throughput()
        delivered = f"{len(p.arrivals)}/{p.expected}" if p.rows or p.arrivals else "—"
        hooks = "(the row above) | — | — | — | —" if p.workers_started_at is not None else \
            f"{len(p.sent)} | {len(p.sent) / p.send_seconds:.0f} | {ms(percentile(acks, 50))} | " \
            f"{ms(percentile(acks, 99))} | {ms(max(acks, default=math.nan))}"
        lines.append(
            f"| {p.name} | {hooks} | {delivered} | "
            f"{f'{rate:.0f}' if p.rows else '—'} | {ms(percentile(e2s, 50))} | {ms(percentile(e2s, 99))} | "
            f"{ms(max(e2s, default=math.nan))} |")
    lines += ["", "### Where the time goes", "",
              "Median seconds per stage, from the outbox's own timestamps (all clocks are this machine's):", "",
              "| phase | webhook → outbox row | row → queued | queued → claimed | claimed → at provider | "
              "at provider → recorded |", "|---|---|---|---|---|---|"]
    for p in phases:
        if p.rows:
            lines.append(f"| {p.name} | " + " | ".join(ms(v) for v in p.stages().values()) + " |")
    lines += ["", "CPU seconds per webhook (two notifications each) by process, and how busy the machine's "
              f"{os.cpu_count()} cores were during the phase:", ""]
    order = ["gunicorn", "rq workers", "postgres (our connections)", "redis-server", "fake provider", "bench (sender)",
             OTHER_POSTGRES, OTHER]
    names = [name for name in order if any(name in p.cpu for p in phases)]
    lines += ["| phase | " + " | ".join(names) + " | cores busy | of which not ours |",
              "|---|" + "---|" * (len(names) + 2)]
    for p in phases:
        per = [f"{p.cpu.get(name, 0.0) / max(1, len(p.sent)) * 1000:.1f} ms" for name in names]
        lines.append(f"| {p.name} | " + " | ".join(per) + f" | {p.busy_cores:.2f} | {p.foreign_cores():.2f} |")
    lines += ["", "“postgres (our connections)” are the backends of this run's connections (found by application "
              "name); “redis-server” is the whole server, shared with anything else using it; the last two columns "
              "are work this benchmark did not ask for (PostgreSQL's background writers and other clients, other "
              "programs, the kernel)."]
    lines += ["", "SQL statements per webhook and per delivered notification, counted in the benchmark process with "
              "SQLAlchemy events while it runs the same code as the servers (webhooks through Flask's test client, "
              "then their delivery jobs, one app context per job as in the worker). Each checkout of a pooled "
              "connection adds `pool_pre_ping`'s round trip.", "",
              "| per | statements | commits | checkouts | statements by kind |", "|---|---|---|---|---|"]
    for per, counts in statements.items():
        kinds = ", ".join(f"{name} {value:.1f}" for name, value in counts.most_common()
                          if name not in ("statements", "commits", "checkouts"))
        lines.append(f"| {per} | {counts['statements']:.1f} | {counts['commits']:.1f} | {counts['checkouts']:.1f} "
                     f"| {kinds} |")
    lines += ["", "## Correctness", ""]
    for p in phases:
        if not p.rows and not p.arrivals:
            failed = p.failed_webhooks()
            lines.append(f"- {p.name}: {len(p.sent)} webhooks, non-200 answers: {dict(failed) or 'none'}")
            continue
        missing = [r for r in p.rows if r.id not in p.arrivals]
        lines.append(f"- {p.name}: webhooks non-200: {dict(p.failed_webhooks()) or 'none'}; outbox rows "
                     f"{len(p.rows)} (expected {2 * len(p.sent)}), statuses {dict(p.statuses())}; "
                     f"not received by the provider: {len(missing)}"
                     + ("" if p.complete else "; **timed out waiting for deliveries**"))
        errors = Counter((r.error or "")[:120] for r in missing if r.error)
        lines += [f"  - {count}× {error}" for error, count in errors.most_common(3)]
    lines.append(f"- Fake provider: {fake_stats['requests']} requests, {len(fake_stats['arrivals'])} distinct "
                 f"messages, {fake_stats['duplicates']} repeated Idempotency-Keys, "
                 f"{fake_stats['bad_signatures']} bad signatures, {fake_stats['bad_bodies']} bad bodies")
    lines.append(f"- Log lines that look like problems (gunicorn, workers): {len(problems) or 'none'}")
    lines += [f"  - `{line}`" for line in problems]
    return "\n".join(lines) + "\n"


def print_table(phases: list[Phase], rates: dict) -> None:
    print()
    print(f"{'phase':<44} {'hooks/s':>7} {'ack p50':>8} {'ack p99':>8} {'notif/s':>8} {'e2s p50':>8} "
          f"{'e2s p99':>8}  delivered")
    for p in phases:
        e2s, acks = p.event_to_sent(), p.acks()
        rate = f"{p.drain_rate() if p.name.startswith('drain') else p.throughput():8.0f}" if p.rows else f"{'—':>8}"
        hooks = f"{'(above)':>7} {'—':>8} {'—':>8}" if p.workers_started_at is not None else \
            f"{len(p.sent) / p.send_seconds:7.0f} {ms(percentile(acks, 50)):>8} {ms(percentile(acks, 99)):>8}"
        delivered = f"{len(p.arrivals)}/{p.expected}" if p.rows else "—"
        print(f"{p.name:<44} {hooks} {rate} {ms(percentile(e2s, 50)):>8} {ms(percentile(e2s, 99)):>8}  {delivered}")
    print("bare RQ no-op: " + ", ".join(f"{name} ×{w}: {r:.0f}/s" for (name, w), r in rates.items()))


def write_results(path: Path, text: str) -> None:
    """Replace the generated part, keep a hand-written analysis section if there is one."""
    kept = ""
    if path.exists():
        old = path.read_text()
        # bench/providers.py's section and the analysis follow this benchmark's part; keep both.
        found = [at for at in (old.find("\n" + heading) for heading in KEPT_HEADINGS) if at >= 0]
        kept = old[min(found):] if found else ""
    path.write_text(text + kept)


# ------------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000, help="webhooks per throughput phase (default 1000)")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, e.g. 1,2")
    parser.add_argument("--database-url", default=None, help="a local database to wipe and use (default: "
                        f"PostgreSQL schema {PG_SCHEMA} if reachable, else SQLite)")
    parser.add_argument("--redis-url", default=None, help="default: bench.machine.default_redis_url()")
    parser.add_argument("--threads", type=int, default=4, help="concurrent webhook senders (default 4)")
    parser.add_argument("--noop-jobs", type=int, default=2000, help="jobs per bare-RQ measurement")
    parser.add_argument("--backlog", type=int, default=50_000, help="marketing jobs queued for the critical test")
    parser.add_argument("--critical-events", type=int, default=100)
    parser.add_argument("--critical-rate", type=float, default=20.0, help="critical webhooks per second")
    parser.add_argument("--no-drain", action="store_true", help="skip the drain phases")
    parser.add_argument("--lock-wait", type=float, default=600.0,
                        help="seconds to wait for another run of this benchmark to finish (default 600)")
    parser.add_argument("--settle", type=float, default=60.0,
                        help="seconds to wait at most for a quiet machine before starting (default 60)")
    parser.add_argument("--results", default=str(RESULTS), help="where to write the results ('-': nowhere)")
    parser.add_argument("--keep", action="store_true", help="keep the database schema and print the log folder")
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    if not args.workers or min(args.workers) < 1 or args.events < 1:
        parser.error("--workers needs positive counts and --events at least 1")
    return args


@contextmanager
def exclusive_run(wait: float):
    """One run per machine at a time: runs share the schema and the Redis database, and wipe both."""
    path = Path(tempfile.gettempdir()) / "notifyhub-bench.lock"
    with path.open("a+") as handle:
        deadline, announced = time.monotonic() + wait, False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"another benchmark run still holds {path} after {wait:.0f} s") from None
                if not announced:
                    print(f"another benchmark run holds {path}; waiting up to {wait:.0f} s…", flush=True)
                    announced = True
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with exclusive_run(args.lock_wait):
        return run(args)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # create_app() logs every request at INFO
    idle_cores, waited = settle(args.settle)
    print(f"machine before start: {idle_cores:.2f} cores busy (waited {waited:.0f} s for a quiet moment)", flush=True)
    started, load = time.monotonic(), (*os.getloadavg(), idle_cores, waited)
    redis_url = args.redis_url or default_redis_url()
    if not redis_url.startswith("unix://") and (urlsplit(redis_url).hostname or "") not in LOCAL_HOSTS:
        raise SystemExit("refusing to flush a Redis that is not on this machine")
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    machine = describe()
    tmp = Path(tempfile.mkdtemp(prefix="notifyhub-bench-"))
    os.environ["PGAPPNAME"] = APP_NAME
    services, fake, app, database, teardown = Services(tmp, {}), None, None, "", None
    try:
        database_url, database, teardown = choose_database(args.database_url, tmp)
        key = Fernet.generate_key().decode()
        shopify_secret, signing_secret = secrets.token_hex(16), secrets.token_hex(16)
        services.env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "ENCRYPTION_KEY": key,
                        "SECRET_KEY": secrets.token_hex(32), "APP_ENV": "development", "PYTHONUNBUFFERED": "1"}
        app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "ENCRYPTION_KEY": key,
                          "SECRET_KEY": services.env["SECRET_KEY"], "APP_ENV": "development"})
        app.instance_path = str(tmp)
        print(f"{machine}\ndatabase: {database}\nredis: {_redact(redis_url)}\nlogs: {tmp}", flush=True)
        fake = fake_provider.start(signing_secret)
        set_up_store(app, key, shopify_secret, signing_secret, fake.url)
        meter = CpuMeter(lambda: {"gunicorn": services.groups("gunicorn"), "rq workers": services.groups("worker-")},
                         lambda: {"fake provider": {fake.process.pid}}, database_url)
        with httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0),
                          limits=httpx.Limits(max_connections=args.threads + 2)) as client:
            ctx = Context(args, app, conn, redis_url, services, fake, client, "", Orders(shopify_secret), meter)
            print("bare RQ no-op baseline:", flush=True)
            rates = baselines(ctx)
            web = start_web(services, free_port())
            ctx.webhook_url = f"{web}/webhooks/shopify/{STORE_SLUG}"
            for _ in range(8):  # warm both gunicorn workers: imports, templates, database connections
                client.post(ctx.webhook_url, content=b"{}", headers={"X-Shopify-Hmac-Sha256": "x"})
            phases: list[Phase] = []
            for workers in args.workers:
                print(f"live, {workers} worker(s): {args.events} webhooks…", flush=True)
                phases.append(live_phase(ctx, workers))
            if not args.no_drain:
                for workers in args.workers:
                    print(f"webhooks, then drain with {workers} worker(s)…", flush=True)
                    phases.extend(drain_phase(ctx, workers))
            print(f"critical messages while {args.backlog} marketing jobs are queued…", flush=True)
            phases.append(critical_phase(ctx))
            print("counting SQL statements per webhook and per notification…", flush=True)
            statements = count_statements(ctx)
        fake_stats = fake.stats()
        services.stop_all()
        problems = log_problems(services)
        print_table(phases, rates)
        text = report(args, machine, database, redis_url, load, os.getloadavg(), rates, phases, statements,
                      fake_stats, problems, time.monotonic() - started)
        print()
        start = text.find("**Caution")
        print(text[start if start >= 0 else text.index("## Targets"):text.index("## Bare RQ")].strip())
        if problems:
            print("\nlog lines that look like problems:\n  " + "\n  ".join(problems))
        if args.results != "-":
            write_results(Path(args.results), text)
            print(f"\nwritten to {args.results}")
        return 0
    finally:
        services.stop_all()
        if fake is not None:
            fake.stop()
        conn.flushdb()
        if args.keep:
            print(f"kept: database {database}, logs in {tmp}")
        else:
            if teardown is not None:
                teardown()
            elif app is not None:  # a database given with --database-url: drop what we created
                with app.app_context():
                    db.drop_all()
                    db.session.remove()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
