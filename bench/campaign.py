"""A 100,000-recipient email campaign end to end (#17): customers opted in to email, a segment and a
campaign made through the API, POST /api/v1/campaigns/<id>/send, and two production workers
(`rq worker -w jobs.worker.AppWorker`, one with the RQ scheduler the pump's delayed passes need)
sending through the store's SendGrid account, pointed at `bench/sendgrid_server.py` (its own
process, 5 ms per request, at most 1,000 recipients per request as SendGrid allows). No rate limit.

Measures the time from "send" to the last recipient at the provider, recipients per second, what
the provider received (requests, recipients per request), the peak RSS of the web and worker
processes, and the event-to-provider time of critical messages (password resets through POST
/api/v1/messages every 200 ms) before and while the campaign sends; then where the time went, from
the outbox's own timestamps, CPU and peak RSS per process, (with --profile, a further run with
py-spy attached to the workers and the web; PY_SPY=/path/to/py-spy if it is not on PATH) the
workers' stacks, and (--statements N, default 2,000) one notification's cost step by step: a small
campaign run in this process with the product's steps wrapped and every SQL statement timed.
Writes the "## Campaign" section of bench/RESULTS.md. Prints numbers; asserts nothing.

    python bench/campaign.py [--recipients 100000] [--database sqlite|postgresql|both] [--profile]
"""
from __future__ import annotations

import argparse
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import redis  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from rq import Worker  # noqa: E402
from sqlalchemy import event, func, insert, select  # noqa: E402

from bench import machine, sendgrid_server  # noqa: E402
from bench.pipeline import (  # noqa: E402
    APP_NAME,
    CpuMeter,
    Services,
    _binary,
    _proc_stats,
    _statement_label,
    exclusive_run,
    free_port,
    percentile,
    settle,
    start_web,
)
from jobs.worker import QUEUES  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.accounts.provisioning import create_store  # noqa: E402
from webapp.campaigns.models import Campaign, CampaignRecipient  # noqa: E402
from webapp.channels.accounts import configure_provider  # noqa: E402
from webapp.consent.models import CustomerConsent  # noqa: E402
from webapp.customers.models import Customer  # noqa: E402
from webapp.devserver import GUNICORN_OPTIONS  # noqa: E402
from webapp.dispatch.models import Notification  # noqa: E402
from webapp.events.api_keys import create_api_key  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.timeutil import utcnow  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Campaign"
PG_SCHEMA = "notifyhub_bench_campaign"
REDIS_DB = 6  # not the tests' (8-15) nor bench/pipeline.py's (7); flushed before and after
CAMPAIGN_DOMAIN = "@example.test"
CRITICAL_EMAIL = "critical@bench.test"
INSERT_CHUNK = 5000
LATENCY = 0.005
TARGET_SECONDS, TARGET_RSS_MB, TARGET_CRITICAL_P99 = 20.0, 300.0, 0.25
FOREIGN_LOAD_WARNING = 0.25  # cores used by others during a run before the report warns
FIRST = ("Ana", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jonas", "Kira", "Liam",
         "Mia", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wen", "Yara", "Zoe")
LAST = ("Silva", "Smith", "Müller", "Rossi", "Dubois", "Kowalski", "Tanaka", "Okafor", "Larsen", "Novak",
        "García", "Jensen", "Costa", "Weber", "Moreau", "Nagy", "Singh", "Kim", "Ivanova", "Brown")
CONTENT = {"en": {
    "subject": "Winter sale, {{ customer.first_name or 'friend' }}: 20% off this week",
    "body": ("<h1>Hello {{ customer.name or 'there' }},</h1>"
             "<p>Our winter sale starts today: 20% off everything in the shop until Sunday, and free shipping "
             "on orders over $50.</p><p><a href=\"https://shop.example.com/sale\">Shop the sale</a></p>"
             "<p>Questions? Write to {{ store.support_email or 'us' }}.</p>")}}
# The measured limits on this machine, for the report.
LIMITS = ("rendering 100,000 personalised messages ≈ 1.5 s, inserting 100,000 rows ≈ 0.3 s (SQLite) to 1.6 s "
          "(PostgreSQL, batched), posting 100 SendGrid requests of 1,000 recipients ≈ 0.5 s")


# ---------------------------------------------------------------------------------------------- numbers


def ms(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else \
        f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _yes(met: bool) -> str:
    return "met" if met else "**missed**"


@dataclass
class Critical:
    at: float  # time.time() just before the POST
    latency: float  # seconds until the answer was read
    status: int
    ids: list[int]  # the email notifications it planned


@dataclass
class Run:
    label: str
    recipients: int
    profiled: bool = False
    latency: float = LATENCY
    poll_seconds: float = 2.0
    send_at: float = math.nan  # time.time() just before POST …/send
    send_seconds: float = math.nan  # the send request itself
    send_status: int = 0
    done_at: float | None = None  # campaign status "done" seen through the API
    criticals: list[Critical] = field(default_factory=list)
    requests: list = field(default_factory=list)  # the SendGrid server's (arrived, answered, n, bytes, ids)
    refused: dict = field(default_factory=dict)
    max_in_flight: int = 0
    polls: list[tuple[float, dict]] = field(default_factory=list)  # (seconds, counts) of GET /campaigns/<id>
    complete: bool = False
    cpu: dict[str, float] = field(default_factory=dict)
    busy_cores: float = math.nan
    wall: float = math.nan
    rss: dict[str, tuple[float, float]] = field(default_factory=dict)  # name → (peak MB, at the end MB)
    timeline: dict = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    setup_seconds: float = math.nan
    code: tuple[str, str] = ("", "")  # code_fingerprint() when the services started
    code_after: str = ""  # and its hash when the run ended

    # -- the provider's view

    def campaign_requests(self, critical_ids: set[int]) -> list:
        return [r for r in self.requests if not set(r[4]) <= critical_ids]

    def arrivals(self) -> dict[int, float]:
        first: dict[int, float] = {}
        for arrived, _answered, _n, _bytes, ids in self.requests:
            for notification_id in ids:
                first.setdefault(notification_id, arrived)
        return first

    def critical_ids(self) -> set[int]:
        return {i for c in self.criticals for i in c.ids}

    def last_campaign_arrival(self) -> float:
        requests = self.campaign_requests(self.critical_ids())
        return max((r[0] for r in requests), default=math.nan)

    def first_campaign_arrival(self) -> float:
        requests = self.campaign_requests(self.critical_ids())
        return min((r[0] for r in requests), default=math.nan)

    def dispatch_seconds(self) -> float:
        return self.last_campaign_arrival() - self.send_at

    def rate(self) -> float:
        seconds = self.dispatch_seconds()
        return self.recipients / seconds if seconds > 0 else math.nan

    def critical_times(self, start: float = -math.inf, end: float = math.inf) -> list[float]:
        """Event → provider seconds of critical messages posted in [start, end); a message that never
        arrived counts as infinitely late."""
        arrivals = self.arrivals()
        found = []
        for c in self.criticals:
            if start <= c.at < end:
                found += [arrivals.get(i, math.inf) - c.at for i in c.ids] or [math.inf]
        return found


# ------------------------------------------------------------------------------------------------ set-up


def build_data(app, recipients: int, provider_url: str) -> tuple[int, str]:
    """Store, API key, customers opted in to email (tagged "newsletter", so the segment has a rule to
    match), the critical messages' customer (not in the segment), and the SendGrid account. Returns
    (store id, API key)."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        store = create_store("bench-campaign", "Bench Goods")
        key = create_api_key(store.id, "bench").plaintext
        now = utcnow()
        for start in range(0, recipients, INSERT_CHUNK):
            db.session.execute(insert(Customer), [
                {"store_id": store.id, "name": f"{FIRST[n % len(FIRST)]} {LAST[n // len(FIRST) % len(LAST)]}",
                 "email": f"customer{n}{CAMPAIGN_DOMAIN}", "locale": "en", "tags": ["newsletter"], "groups": [],
                 "external_ids": {}, "muted_topics": [], "created_at": now, "updated_at": now}
                for n in range(start, min(recipients, start + INSERT_CHUNK))])
        ids = db.session.scalars(select(Customer.id).where(Customer.store_id == store.id).order_by(Customer.id)).all()
        for start in range(0, len(ids), INSERT_CHUNK):
            db.session.execute(insert(CustomerConsent), [
                {"store_id": store.id, "customer_id": customer_id, "channel": "email", "status": "opted_in",
                 "source": "import", "updated_at": now} for customer_id in ids[start:start + INSERT_CHUNK]])
        db.session.add(Customer(store_id=store.id, name="Critical Person", email=CRITICAL_EMAIL, locale="en",
                                tags=[], groups=[], external_ids={}, muted_topics=[]))
        configure_provider(store.id, "email", "sendgrid", {"api_key": sendgrid_server.API_KEY,
                                                           "from_email": "news@bench.test",
                                                           "from_name": "Bench Goods"}, base_url=provider_url)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:  # fresh tables: give the planner real statistics
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        store_id = store.id
        db.session.remove()
        db.engine.dispose()  # no pooled connection may be inherited by a forked process
    return store_id, key


def start_workers(services: Services, conn: redis.Redis, redis_url: str, count: int, timeout: float = 60.0) -> None:
    """`count` production workers, the first with the RQ scheduler; returns once all are registered."""
    before = Worker.count(connection=conn)
    for i in range(count):
        services.start(f"worker-{i}", [_binary("rq"), "worker", "-w", "jobs.worker.AppWorker", "--url", redis_url,
                                       "--name", f"bench-campaign-{i}-{secrets.token_hex(3)}",
                                       *(["--with-scheduler"] if i == 0 else []), *QUEUES])
    deadline = time.monotonic() + timeout
    while Worker.count(connection=conn) < before + count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} worker(s) did not register within {timeout:.0f} s; see their logs")
        time.sleep(0.05)


# --------------------------------------------------------------------------------------- critical sender


class CriticalSender:
    """POST /api/v1/messages (a password reset) every `interval` seconds from a thread of its own."""

    def __init__(self, web: str, key: str, interval: float):
        self.url, self.interval = f"{web}/api/v1/messages", interval
        self.headers = {"Authorization": f"Bearer {key}"}
        self.sent: list[Critical] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="critical-sender", daemon=True)
        self._thread.start()

    def stop(self) -> list[Critical]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        sent, self.sent = self.sent, []
        return sent

    def _run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0)) as client:
            started = time.monotonic()
            tick = 0
            while not self._stop.is_set():
                self._count += 1
                body = {"type": "password_reset", "customer": {"email": CRITICAL_EMAIL},
                        "data": {"reset": {"url": f"https://shop.example.com/reset/{self._count}"}},
                        "idempotency_key": f"bench-reset-{self._count}-{secrets.token_hex(4)}"}
                at, t0 = time.time(), time.perf_counter()
                status, ids = 0, []
                try:
                    response = client.post(self.url, json=body, headers=self.headers)
                    status = response.status_code
                    if status == 201:
                        ids = [n["id"] for n in response.json()["notifications"]
                               if n["channel"] == "email" and n["status"] == "pending"]
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                self.sent.append(Critical(at, time.perf_counter() - t0, status, ids))
                tick += 1
                self._stop.wait(max(0.0, started + tick * self.interval - time.monotonic()))


# --------------------------------------------------------------------------------------------- profiling


def py_spy() -> str | None:
    """py-spy from PY_SPY, PATH or the virtualenv; None when it is not installed."""
    for candidate in (os.environ.get("PY_SPY"), shutil.which("py-spy"), str(Path(sys.executable).parent / "py-spy"),
                      str(ROOT / ".venv" / "bin" / "py-spy")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class Profiler:
    """py-spy attached (non-blocking, idle stacks included, so waiting shows) to each process until stop()."""

    def __init__(self, binary: str, tmp: Path, rate: int):
        self.binary, self.tmp, self.rate = binary, tmp, rate
        self.running: list[tuple[str, subprocess.Popen, Path]] = []

    def attach(self, name: str, pid: int) -> None:
        out = self.tmp / f"profile-{name}.txt"
        proc = subprocess.Popen([self.binary, "record", "--pid", str(pid), "--format", "raw", "--idle", "--function",
                                 "--nonblocking", "--rate", str(self.rate), "--output", str(out)],
                                stdout=subprocess.DEVNULL, stderr=(self.tmp / f"profile-{name}.log").open("wb"))
        self.running.append((name, proc, out))

    def stop(self, keep: Path | None = None) -> dict[str, Counter]:
        """{process name: Counter(stack → samples)}; the raw files copied into `keep` if given."""
        for _, proc, _ in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        stacks: dict[str, Counter] = {}
        for name, proc, out in self.running:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            counted: Counter = Counter()
            if out.exists() and keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(out, keep / out.name)
            if out.exists():
                for line in out.read_text(errors="replace").splitlines():
                    stack, _, count = line.rpartition(" ")
                    if count.isdigit():
                        counted[stack] += int(count)
            stacks[name] = counted
        self.running = []
        return stacks


# Inclusive time in these frames (function, file), in the order of the report; the indent is a parent.
WORKER_FRAMES = (
    ("waiting for a job (BLPOP on the queues)", "dequeue_job_and_maintain_ttl", "worker.py", 0),
    ("campaign pump job", "pump_campaign", "campaigns.py", 0),
    ("launch → freeze: segment walk + recipient rows", "freeze", "snapshot.py", 1),
    ("segment walk (audience.members)", "members", "audience.py", 2),
    ("materialize: notifications for 2,000 recipients", "materialize", "materialize.py", 1),
    ("render each recipient (_row)", "_row", "materialize.py", 2),
    ("open-notification count (backlog check)", "_open_count", "pump.py", 1),
    ("delivery jobs", "deliver_notifications", "deliver.py", 0),
    ("claim (UPDATE … RETURNING + started events)", "claim", "delivery.py", 1),
    ("send-time gate (consent, suppressions, cap)", "gate", "marketing_gate.py", 1),
    ("grouping rows by template (_shared_content)", "_shared_content", "delivery.py", 1),
    ("send_batch (SendGrid SDK, grouping again, HTTP)", "send_batch", "sendgrid_email.py", 1),
    ("grouping again inside send_batch", "template_groups", "batching.py", 2),
    ("building the SDK's Mail and Personalizations", "_personalization", "sendgrid_email.py", 2),
    ("Mail.get() → JSON", "get", "mail.py", 2),
    ("the HTTP request (pooled httpx)", "_make_request", "sendgrid_transport.py", 2),
    ("recording outcomes (_apply → _finish/_event)", "_apply", "delivery.py", 1),
    ("session commit (flushing rows and events)", "commit", "session.py", 1),
    ("one-by-one sends (_deliver_claimed)", "_deliver_claimed", "delivery.py", 1),
)
WEB_FRAMES = (
    ("POST …/send (launch: segment reach over every customer)", "send_campaign", "api_campaigns.py", 0),
    ("GET /api/v1/campaigns/<id> (progress counts)", "get_campaign_json", "api_campaigns.py", 0),
    ("POST /api/v1/messages (critical)", "post_message", "api_messages.py", 0),
)


def _frame_pattern(function: str, filename: str) -> re.Pattern:
    """A frame of `function` (a method too: py-spy names it Class.function) in a file ending so."""
    return re.compile(rf"(?:^|;)(?:[\w<>]+\.)*{re.escape(function)} \([^;]*{re.escape(filename)}:")


def summarize_profile(stacks: dict[str, Counter], frames, main_only: bool = True) -> dict:
    """Seconds-share of each frame over the processes' samples, and the top leaf functions under
    the pump and the delivery jobs."""
    total, sweeping = Counter(), 0
    for counted in stacks.values():
        for stack, n in counted.items():
            if not main_only or not stack.startswith("Thread._bootstrap"):  # the main thread (and truncated stacks)
                total[stack] += n
            elif "AppWorker.sweep (" in stack:
                sweeping += n  # the sweeper thread at work, not waiting for its timer
    samples = sum(total.values())
    inclusive = []
    for label, function, filename, depth in frames:
        pattern = _frame_pattern(function, filename)
        inclusive.append((label, depth, sum(n for stack, n in total.items() if pattern.search(stack))))
    leaves: dict[str, Counter] = {}
    for label, function, filename in (("pump", "pump_campaign", "campaigns.py"),
                                      ("delivery", "deliver_notifications", "deliver.py")):
        pattern, counted = _frame_pattern(function, filename), Counter()
        for stack, n in total.items():
            if pattern.search(stack):
                counted[_leaf(stack)] += n
        leaves[label] = counted
    sites: Counter = Counter()  # innermost product frame → (samples, of which waiting on PostgreSQL)
    waits: Counter = Counter()
    for stack, n in total.items():
        site = _product_site(stack)
        if site is None:
            continue
        sites[site] += n
        if "psycopg/" in stack.rsplit(";", 1)[-1]:
            waits[site] += n
    return {"samples": samples, "inclusive": inclusive, "leaves": leaves, "processes": len(stacks),
            "sites": sites, "waits": waits, "sweeping": sweeping}


def _product_site(stack: str) -> str | None:
    """The innermost frame of the product's own code (webapp/, jobs/) in a busy stack, or None for a
    stack outside any job (RQ's loop, waiting for a job)."""
    frames = stack.split(";")
    if not any(SITE_ROOTS.search(frame) for frame in frames) or IDLE.search(stack):
        return None
    for frame in reversed(frames):
        if PRODUCT_FILE.search(frame):
            return _leaf(frame)
    return None


PRODUCT_FILE = re.compile(r"\((?:webapp|jobs)/[^:]+:")
SITE_ROOTS = re.compile(r"(?:pump_campaign \(jobs/campaigns|deliver_notifications \(jobs/deliver)")
IDLE = re.compile(r"dequeue_job_and_maintain_ttl \(")


def _leaf(stack: str) -> str:
    """The innermost frame, named by what it is (a driver wait shows as the driver's function)."""
    frame = stack.rsplit(";", 1)[-1]
    name, _, where = frame.partition(" (")
    return f"{name} ({where.split(':')[0]})"


# ------------------------------------------------------------------------------------------- measurement


def rss_of(groups: dict[str, set[int]]) -> dict[str, tuple[float, float]]:
    """Peak (VmHWM) and current RSS in MB of every process of each group (its process group), each
    process on its own line: gunicorn's master and workers, an rq worker and its scheduler child."""
    found: dict[str, tuple[float, float]] = {}
    for pid, _comm, pgrp, _cpu in _proc_stats():
        name = next((n for n, members in groups.items() if pgrp in members), None)
        if name is None:
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        values = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.M))
        if not values:
            continue
        role = "master" if pid == pgrp and name.startswith("web") else \
            "worker" if pid == pgrp else "worker" if name.startswith("web") else "scheduler"
        found[f"{name} {role} (pid {pid})"] = (int(values["VmHWM"]) / 1024, int(values["VmRSS"]) / 1024)
    return found


def outbox_timeline(app, store_id: int) -> tuple[dict, Counter]:
    """The campaign's timestamps: freeze, materialization, claims and sends, per delivery job."""
    N, C, R = Notification, Campaign, CampaignRecipient
    with app.app_context():
        campaign = db.session.scalar(select(C).where(C.store_id == store_id))
        statuses = Counter(dict(db.session.execute(select(N.status, func.count()).where(N.campaign_id == campaign.id)
                                                   .group_by(N.status)).all()))
        recipients = Counter(dict(db.session.execute(select(R.status, func.count()).where(R.campaign_id == campaign.id)
                                                     .group_by(R.status)).all()))
        created = [t for (t,) in db.session.execute(select(N.created_at).where(N.campaign_id == campaign.id)
                                                    .group_by(N.created_at).order_by(N.created_at))]
        jobs = db.session.execute(select(N.job_id, func.count(), func.min(N.claimed_at), func.max(N.finished_at),
                                         func.min(N.created_at), func.min(N.lease_owner))
                                  .where(N.campaign_id == campaign.id).group_by(N.job_id)).all()
        critical = db.session.execute(select(N.id, N.created_at, N.queued_at, N.claimed_at, N.finished_at,
                                             N.lease_owner).where(
            N.store_id == store_id, N.message_type == "account.password_reset")).all()
        body_bytes = db.session.scalar(select(func.avg(func.length(N.body))).where(N.campaign_id == campaign.id))
        started, finished = campaign.started_at, campaign.finished_at
        db.session.remove()
        db.engine.dispose()

    def ts(value):
        if value is None:
            return math.nan
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()

    spans = [ts(end) - ts(start) for _, _, start, end, _, _ in jobs if start and end]
    waits = [ts(start) - ts(made) for _, _, start, _, made, _ in jobs if start and made]
    return {"started": ts(started), "finished": ts(finished), "chunks": [ts(t) for t in created],
            "jobs": len(jobs), "job_sizes": Counter(n for _, n, _, _, _, _ in jobs), "job_seconds": spans,
            "job_spans": [(_pid(owner), ts(start), ts(end), n) for _, n, start, end, _, owner in jobs if start and end],
            "job_wait": waits, "recipients": recipients, "body_bytes": float(body_bytes or 0),
            "critical": {row.id: tuple(ts(t) for t in row[1:5]) for row in critical},
            "critical_worker": {row.id: _pid(row.lease_owner) for row in critical}}, statuses


def _pid(owner: str | None) -> str:
    """The worker process of a claim: its lease owner is host:pid/claim."""
    return (owner or "?").split("/")[0].rsplit(":", 1)[-1]


def run_campaign(label: str, database_url: str, args, tmp: Path, redis_url: str, profile: bool) -> Run:
    run = Run(label, args.recipients, profiled=profile, latency=args.latency, poll_seconds=args.poll_seconds)
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    server = sendgrid_server.start(latency=args.latency, campaign_domain=CAMPAIGN_DOMAIN)
    key = Fernet.generate_key().decode()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "ENCRYPTION_KEY": key,
           "SECRET_KEY": secrets.token_hex(32), "APP_ENV": "development", "PYTHONUNBUFFERED": "1",
           "PUBLIC_BASE_URL": "https://notify.bench.test", "PGAPPNAME": APP_NAME}
    services = Services(tmp / (label.split()[0].lower() + ("-profiled" if profile else "")), env)
    services.tmp.mkdir(parents=True, exist_ok=True)
    app = create_app({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "ENCRYPTION_KEY", "SECRET_KEY", "APP_ENV",
                                          "PUBLIC_BASE_URL")})
    app.instance_path = str(tmp)
    profiler = None
    try:
        started = time.perf_counter()
        store_id, api_key = build_data(app, args.recipients, server.url)
        run.setup_seconds = time.perf_counter() - started
        print(f"  {args.recipients:,} customers opted in, SendGrid account → {server.url} "
              f"({run.setup_seconds:.0f} s)", flush=True)
        run.code = code_fingerprint()
        web = start_web(services, free_port(), timeout=60)
        start_workers(services, conn, redis_url, args.workers)
        auth = {"Authorization": f"Bearer {api_key}"}
        with httpx.Client(base_url=web, headers=auth, timeout=httpx.Timeout(300.0, connect=5.0)) as client:
            answer = client.post("/api/v1/segments", json={"name": "Newsletter", "match": "all", "conditions": [
                {"field": "tags", "op": "any_of", "value": ["newsletter"]}]})
            answer.raise_for_status()
            answer = client.post("/api/v1/campaigns", json={"name": "Winter sale", "channel": "email",
                                                            "segment_id": answer.json()["id"], "content": CONTENT})
            answer.raise_for_status()
            campaign_id = answer.json()["id"]
            sender = CriticalSender(web, api_key, args.critical_interval)
            sender.start()  # warms every gunicorn worker and both rq workers, and gives the idle baseline
            time.sleep(args.baseline)
            if profile:
                profiler = Profiler(py_spy(), services.tmp, args.profile_rate)
                for name, proc in services.running.items():
                    if name.startswith("worker-"):
                        profiler.attach(name, proc.pid)
                for pid, _comm, pgrp, _cpu in _proc_stats():
                    if pgrp in services.groups("gunicorn") and pid != pgrp:
                        profiler.attach(f"web-{pid}", pid)
            meter = CpuMeter(lambda: {"web (gunicorn)": services.groups("gunicorn"),
                                      **{f"rq worker {n[-1]}": {p.pid} for n, p in services.running.items()
                                         if n.startswith("worker-")}},
                             lambda: {"SendGrid stand-in": {server.process.pid}}, database_url)
            before = meter.snapshot()
            print(f"  sending campaign {campaign_id} to {args.recipients:,}…", flush=True)
            run.send_at, t0 = time.time(), time.perf_counter()
            answer = client.post(f"/api/v1/campaigns/{campaign_id}/send")
            run.send_seconds, run.send_status = time.perf_counter() - t0, answer.status_code
            if answer.status_code != 202:
                raise RuntimeError(f"send answered {answer.status_code}: {answer.text[:500]}")
            run.complete = _wait_dispatched(run, server, client, campaign_id, args)
            after = meter.snapshot()
            groups = {"web": services.groups("gunicorn"),
                      **{f"rq worker {n[-1]}": {p.pid} for n, p in services.running.items() if n.startswith("worker-")}}
            run.rss = rss_of(groups)
            if profiler is not None:
                stacks = profiler.stop(Path(args.profile_dir) if args.profile_dir else None)
                profiler = None
                run.profile = {"workers": summarize_profile({k: v for k, v in stacks.items() if k.startswith("worker")},
                                                            WORKER_FRAMES),
                               "web": summarize_profile({k: v for k, v in stacks.items() if k.startswith("web")},
                                                        WEB_FRAMES, main_only=False)}
                run.profile["workers"]["rate"] = args.profile_rate
            time.sleep(1.0)  # the last critical messages of the window
            run.criticals = sender.stop()
            _wait_for_criticals(run, server)
            run.cpu, run.busy_cores, run.wall = CpuMeter.delta(before, after)
            run.done_at = _wait_done(client, campaign_id, timeout=60)
        run.code_after = code_fingerprint()[0]
        stats = server.stats()
        run.requests, run.refused, run.max_in_flight = stats["requests"], stats["refused"], stats["max_in_flight"]
        services.stop_all()
        run.problems = _log_problems(services)
        run.timeline, run.statuses = outbox_timeline(app, store_id)
        return run
    finally:
        if profiler is not None:
            profiler.stop()
        services.stop_all()
        server.stop()
        conn.flushdb()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _wait_dispatched(run: Run, server, client: httpx.Client, campaign_id: int, args) -> bool:
    """Until every recipient reached the provider; False on a stall or the time limit."""
    started = last_change = time.monotonic()
    last, next_poll = server.campaign_received(), started + args.poll_seconds
    while last < run.recipients:
        time.sleep(0.05)
        now, value = time.monotonic(), server.campaign_received()
        if value != last:
            last, last_change = value, now
        if now >= next_poll:
            try:
                asked = time.perf_counter()
                answer = client.get(f"/api/v1/campaigns/{campaign_id}", timeout=30)
                run.polls.append((time.perf_counter() - asked, {"status": answer.json().get("status"),
                                                                **answer.json().get("counts", {})}))
            except (httpx.HTTPError, ValueError):
                pass
            next_poll = time.monotonic() + args.poll_seconds
            print(f"    {time.time() - run.send_at:5.1f} s: {value:,} at the provider", flush=True)
        if now - started > args.timeout or now - last_change > args.stall:
            print(f"    gave up: {value:,} of {run.recipients:,} after {now - started:.0f} s", flush=True)
            return False
    return True


def _wait_for_criticals(run: Run, server, timeout: float = 15.0) -> None:
    wanted = run.critical_ids()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = {i for r in server.stats()["requests"] for i in r[4]}
        if wanted <= seen:
            return
        time.sleep(0.5)


def _wait_done(client: httpx.Client, campaign_id: int, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.get(f"/api/v1/campaigns/{campaign_id}").json().get("status") == "done":
                return time.time()
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    return None


def _log_problems(services: Services) -> list[str]:
    pattern = re.compile(r"Traceback|ERROR|CRITICAL|Exception|failed|Error:|WARNING")
    found: Counter = Counter()
    for log in services.logs:
        if log.exists():
            for line in log.read_text(errors="replace").splitlines():
                if pattern.search(line):
                    found[f"{log.stem}: {re.sub(r'^[0-9-]+ [0-9:,.]+ ', '', line.strip())[:160]}"] += 1
    return [f"{count}× {line}" for line, count in found.most_common(8)]


# ------------------------------------------------------------------------------- statements, in process


class Steps:
    """Wall and SQL seconds per step of the pump and of a delivery job, measured in this process by
    wrapping the product's functions (nothing in the product changes) and timing every statement
    with SQLAlchemy's cursor events. A step's own time excludes the steps nested in it."""

    def __init__(self):
        self.stack: list[str] = []
        self.wall: Counter = Counter()
        self.calls: Counter = Counter()
        self.sql: Counter = Counter()
        self.statements: dict[tuple[str, str], list] = {}  # (step, label) → [executions, rows, seconds]
        self._nested: list[float] = []
        self._restore: list[tuple] = []

    def wrap(self, module, name: str, step: str) -> None:
        original = getattr(module, name)

        def timed(*args, **kwargs):
            return self.call(step, original, *args, **kwargs)

        setattr(module, name, timed)
        self._restore.append((module, name, original))

    def call(self, step: str, function, *args, **kwargs):
        self.stack.append(step)
        self._nested.append(0.0)
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            self.wall[step] += elapsed - self._nested.pop()
            self.calls[step] += 1
            self.stack.pop()
            if self._nested:
                self._nested[-1] += elapsed

    def restore(self) -> None:
        for module, name, original in reversed(self._restore):
            setattr(module, name, original)

    def before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        elapsed = time.perf_counter() - conn.info["bench_started"].pop()
        if not self.stack:
            return  # setting up, or the send request
        step = self.stack[-1]
        label = _statement_label(statement)
        rows = len(parameters) if executemany and isinstance(parameters, (list, tuple)) else 1
        entry = self.statements.setdefault((step, label), [0, 0, 0.0])
        entry[0], entry[1], entry[2] = entry[0] + 1, entry[1] + rows, entry[2] + elapsed
        self.sql[step] += elapsed


def statement_costs(label: str, database_url: str, redis_url: str, recipients: int, tmp: Path) -> dict:
    """A campaign of `recipients` run in this process: the pump's first pass, then each delivery job it
    queued, through the SendGrid stand-in, every step and statement timed."""
    from rq import Queue

    from jobs.deliver import deliver_notifications
    from webapp.campaigns import materialize as materialize_module
    from webapp.campaigns import pump as pump_module
    from webapp.channels.providers import sendgrid_email
    from webapp.dispatch import delivery, marketing_gate
    from webapp.dispatch.queueing import DELIVER_JOB

    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    server = sendgrid_server.start(campaign_domain=CAMPAIGN_DOMAIN)
    config = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "ENCRYPTION_KEY": Fernet.generate_key().decode(),
              "SECRET_KEY": secrets.token_hex(32), "APP_ENV": "development",
              "PUBLIC_BASE_URL": "https://notify.bench.test"}
    app = create_app(config)
    app.instance_path = str(tmp)
    steps = Steps()
    try:
        _store_id, api_key = build_data(app, recipients, server.url)
        client, auth = app.test_client(), {"Authorization": f"Bearer {api_key}"}
        segment = client.post("/api/v1/segments", headers=auth, json={"name": "Newsletter", "match": "all",
                              "conditions": [{"field": "tags", "op": "any_of", "value": ["newsletter"]}]}).get_json()
        campaign_id = client.post("/api/v1/campaigns", headers=auth, json={
            "name": "Winter sale", "channel": "email", "segment_id": segment["id"],
            "content": CONTENT}).get_json()["id"]
        for module, name, step in ((pump_module, "freeze", "pump: freeze (segment walk, recipient rows)"),
                                   (pump_module, "materialize", "pump: materialize (render, insert, queue)"),
                                   (materialize_module, "_row", "materialize: render one recipient"),
                                   (pump_module, "_open_count", "pump: backlog count"),
                                   (delivery, "claim", "delivery: claim"),
                                   (marketing_gate, "gate", "delivery: send-time gate"),
                                   (delivery, "_shared_content", "delivery: group by template"),
                                   (delivery, "_send_chunk", "delivery: record outcomes + commit"),
                                   (sendgrid_email.SendGridProvider, "send_batch",
                                    "delivery: send_batch (SDK, regrouping, HTTP)")):
            steps.wrap(module, name, step)
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", steps.before)
        event.listen(engine, "after_cursor_execute", steps.after)
        try:
            with app.app_context():
                client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
                steps.call("pump: the rest of the pass", pump_module.pump, campaign_id,
                           app.extensions["runtime_settings"])
            jobs = [job for job in Queue("marketing", connection=conn).jobs if job.func_name == DELIVER_JOB]
            started = time.perf_counter()
            for job in jobs:
                with app.app_context():
                    steps.call("delivery: the rest of the job", deliver_notifications, *job.args)
            delivery_wall = time.perf_counter() - started
        finally:
            event.remove(engine, "before_cursor_execute", steps.before)
            event.remove(engine, "after_cursor_execute", steps.after)
            steps.restore()
        received = server.received()
    finally:
        server.stop()
        conn.flushdb()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return {"label": label, "recipients": recipients, "jobs": len(jobs), "received": received,
            "delivery_wall": delivery_wall, "steps": steps}


def report_statements(found: dict) -> list[str]:
    steps: Steps = found["steps"]
    n = found["recipients"]
    lines = [f"#### {found['label']}: one notification's cost, step by step (in process)", "",
             f"A campaign of {n:,} run in the benchmark's own process (no other load): the pump's pass, then its "
             f"{found['jobs']} delivery jobs one after the other through the SendGrid stand-in "
             f"({found['received']:,} recipients received); each step's own wall time (nested steps excluded) and "
             "the part of it spent in SQL statements (SQLAlchemy's cursor events: the driver round trip and the "
             "server's work). Per recipient, and projected to 100,000 on one core.", "",
             "| step | calls | wall µs / recipient | of which SQL | → s per 100,000 |", "|---|---|---|---|---|"]
    order = sorted(steps.wall, key=lambda k: (not k.startswith(("pump", "materialize")), k))
    for step in order:
        wall = steps.wall[step]
        lines.append(f"| {step} | {steps.calls[step]} | {wall / n * 1e6:,.0f} | "
                     f"{steps.sql.get(step, 0.0) / n * 1e6:,.0f} | {wall / n * 100_000:.1f} |")
    total = sum(steps.wall.values())
    lines += [f"| **total** | | {total / n * 1e6:,.0f} | {sum(steps.sql.values()) / n * 1e6:,.0f} | "
              f"{total / n * 100_000:.1f} |", "",
              "The statements behind it (executions; rows for an executemany; seconds; µs per recipient):", "",
              "| step | statement | executions | rows | µs / recipient |", "|---|---|---|---|---|"]
    for (step, label), (executions, rows, seconds) in sorted(steps.statements.items(), key=lambda kv: -kv[1][2]):
        if seconds / n * 1e6 < 5:
            continue
        lines.append(f"| {step} | `{label}` | {executions:,} | {rows:,} | {seconds / n * 1e6:,.0f} |")
    lines.append("")
    return lines


# --------------------------------------------------------------------------------------------- reporting


def _critical_row(name: str, times: list[float]) -> str:
    lost = sum(1 for t in times if math.isinf(t))
    finite = [t for t in times if not math.isinf(t)]
    return (f"| {name} | {len(times)} | {ms(percentile(finite, 50))} | {ms(percentile(times, 99))} | "
            f"{ms(max(times) if times else math.nan)} | {lost} |")


def critical_stages(run: Run, first: float, last: float) -> list[str]:
    """Where the critical messages sent during delivery waited, from their outbox rows."""
    rows, arrivals = run.timeline.get("critical", {}), run.arrivals()
    spans: dict[str, list[float]] = {"POST → outbox row committed": [], "row → queued": [],
                                     "queued → claimed by a worker": [], "claimed → at the provider": []}
    for c in run.criticals:
        if not first <= c.at < last:
            continue
        for notification_id in c.ids:
            created, queued, claimed, _finished = rows.get(notification_id, (math.nan,) * 4)
            if notification_id not in arrivals or any(math.isnan(t) for t in (created, queued, claimed)):
                continue
            for name, value in zip(spans, (created - c.at, queued - created, claimed - queued,
                                           arrivals[notification_id] - claimed), strict=True):
                spans[name].append(value)
    if not spans["queued → claimed by a worker"]:
        return []
    return ["Critical messages during delivery, stage by stage (outbox timestamps):", "",
            "| stage | p50 | p99 | max |", "|---|---|---|---|",
            *[f"| {name} | {ms(percentile(values, 50))} | {ms(percentile(values, 99))} | "
              f"{ms(max(values))} |" for name, values in spans.items()], "", *slowest_waits(run, first, last)]


def slowest_waits(run: Run, first: float, last: float, count: int = 6) -> list[str]:
    """What each worker was doing while the slowest critical messages waited to be claimed: a delivery
    job of the campaign (its claim → last row recorded, by the lease owner's pid), or else the pump (or
    RQ's own work between jobs)."""
    rows, taken_by = run.timeline.get("critical", {}), run.timeline.get("critical_worker", {})
    jobs = run.timeline.get("job_spans", [])
    workers = sorted({pid for pid, *_ in jobs} | {p for p in taken_by.values() if p != "?"})
    waits = []
    for c in run.criticals:
        if first <= c.at < last:
            for i in c.ids:
                created, queued, claimed, _ = rows.get(i, (math.nan,) * 4)
                if not math.isnan(queued) and not math.isnan(claimed):
                    waits.append((claimed - queued, queued, claimed, taken_by.get(i, "?")))
    if not waits or not workers:
        return []
    lines = [f"The {count} longest waits for a worker, and what each worker (pid) was doing from the moment the "
             "critical job was queued (t = 0): a campaign delivery job running then (its rows' finished_at is "
             "taken before they are written, so the job ends a little later), or else the pump (a materialize "
             "chunk) or RQ between jobs:", "",
             "| wait | taken by | " + " | ".join(f"worker {w}" for w in workers) + " |",
             "|---|---|" + "---|" * len(workers)]
    for wait, queued, _claimed, pid in sorted(waits, reverse=True)[:count]:
        cells = []
        for worker in workers:
            running = [(start, end, n) for p, start, end, n in jobs if p == worker and start <= queued < end]
            if running:
                start, end, n = running[0]
                cells.append(f"delivery job of {n:,} (claimed {ms(queued - start)} before; rows stamped sent at "
                             f"+{ms(end - queued)}, then written)")
            else:
                following = [start for p, start, _e, _n in jobs if p == worker and start >= queued]
                cells.append("pump / between jobs" + (f" (next delivery job +{ms(min(following) - queued)})"
                                                      if following else ""))
        lines.append(f"| {ms(wait)} | {pid} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def report_run(run: Run) -> list[str]:
    critical_ids = run.critical_ids()
    requests = run.campaign_requests(critical_ids)
    sizes = [r[2] for r in requests]
    first, last = run.first_campaign_arrival(), run.last_campaign_arrival()
    arrivals = run.arrivals()
    campaign_ids = [i for r in requests for i in r[4] if i not in critical_ids]
    unique = len(set(campaign_ids))
    during = run.critical_times(run.send_at, last if not math.isnan(last) else math.inf)
    peak_worker = max((peak for name, (peak, _) in run.rss.items() if name.startswith("rq worker")
                       and name.split(" (pid")[0].endswith(" worker")), default=math.nan)
    peak_web = max((peak for name, (peak, _) in run.rss.items() if name.startswith("web")), default=math.nan)
    dispatch = run.dispatch_seconds()
    p99 = percentile(during, 99)
    foreign = (run.cpu.get("rest of the machine", 0.0) + run.cpu.get("postgres (background, other clients)", 0.0)) \
        / run.wall if run.wall > 0 else 0.0
    lines = [f"### {run.label}{' (py-spy attached)' if run.profiled else ''}", ""]
    lines += [f"Product code measured: fingerprint `{run.code[0]}` (webapp/ and jobs/; newest change "
              f"{run.code[1]})" + ("" if run.code_after in ("", run.code[0]) else
                                   f"; **it changed during the run** (now `{run.code_after}`): services started "
                                   "before the change ran the old code") + ".", ""]
    if foreign > FOREIGN_LOAD_WARNING:
        lines += [f"**Caution:** work this benchmark did not start used {foreign:.2f} of the {os.cpu_count()} cores "
                  "during this run; its numbers are pessimistic.", ""]
    lines += ["| target | measured | result |", "|---|---|---|",
             f"| all {run.recipients:,} dispatched in < {TARGET_SECONDS:.0f} s | "
             f"{ms(dispatch)}{'' if run.complete else ' (incomplete)'} | "
             f"{_yes(run.complete and dispatch < TARGET_SECONDS)} |",
             f"| peak worker RSS < {TARGET_RSS_MB:.0f} MB | {peak_worker:.0f} MB | "
             f"{_yes(peak_worker < TARGET_RSS_MB)} |",
             f"| critical event→provider p99 < {TARGET_CRITICAL_P99 * 1000:.0f} ms while sending | "
             f"{ms(p99)} ({len(during)} messages) | {_yes(p99 < TARGET_CRITICAL_P99)} |", ""]
    lines += [f"- **{ms(dispatch)}** from POST …/send to the last recipient at the provider: "
              f"**{run.rate():,.0f} recipients/s** overall, "
              f"{(len(campaign_ids) - 1) / (last - first) if last > first else math.nan:,.0f}/s between the first "
              f"and the last request; campaign marked done "
              f"{ms(run.done_at - run.send_at) if run.done_at else 'not within 60 s'} after the send.",
              f"- The provider received **{len(requests)} campaign requests** for {len(campaign_ids):,} recipients "
              f"({unique:,} distinct, {len(campaign_ids) - unique} repeated): "
              f"{_sizes(sizes)}; at most {run.max_in_flight} requests in flight at once"
              + (f"; refused: {run.refused}" if run.refused else "") + ".",
              f"- Outbox: {dict(run.statuses)}; recipients {dict(run.timeline['recipients'])}; "
              f"{run.timeline['jobs']} delivery jobs of {_sizes(list(run.timeline['job_sizes'].elements()))}; "
              f"each notification's rendered HTML body {run.timeline['body_bytes'] / 1024:.1f} KB on average.",
              f"- Peak RSS: workers {peak_worker:.0f} MB, web {peak_web:.0f} MB (per process; table below).",
              f"- The send request itself took {ms(run.send_seconds)} (it counts the segment before scheduling); "
              f"GET /api/v1/campaigns/<id> (the progress counts), read every {run.poll_seconds:g} s while sending, "
              f"answered in {ms(percentile([t for t, _ in run.polls], 50))} at the median, "
              f"{ms(max((t for t, _ in run.polls), default=math.nan))} at most.",
              ""]
    # stages
    chunks = run.timeline["chunks"]
    started = run.timeline["started"]
    lines += ["Where the time went (seconds after POST …/send; outbox and provider timestamps):", "",
              "| stage | from | to | seconds |", "|---|---|---|---|"]

    def stage(name, a, b):
        return f"| {name} | {a - run.send_at:.2f} | {b - run.send_at:.2f} | {b - a:.2f} |"

    lines.append(stage("send request (launch checks, segment reach)", run.send_at, run.send_at + run.send_seconds))
    if not math.isnan(started) and chunks:
        lines.append(stage("send answered → pump starts (freeze begins)", run.send_at + run.send_seconds, started))
        lines.append(stage("freeze: segment walk + recipient rows", started, chunks[0]))
        lines.append(stage(f"materialize: {len(chunks)} chunks of notifications", chunks[0], chunks[-1]))
    if not math.isnan(first):
        lines.append(stage("first notification row → first request at the provider", chunks[0] if chunks else first,
                           first))
        lines.append(stage("provider: first → last campaign request", first, last))
    lines.append("")
    job_seconds, job_wait = run.timeline["job_seconds"], run.timeline["job_wait"]
    if job_seconds:
        lines += [f"A delivery job (claim → last row recorded) took {ms(percentile(job_seconds, 50))} at the median, "
                  f"{ms(max(job_seconds))} at most; a job waited {ms(percentile(job_wait, 50))} (median) from "
                  f"its rows' creation to its claim, {ms(max(job_wait))} at most. Provider requests took "
                  f"{ms(percentile([r[1] - r[0] for r in requests], 50))} at the median at the server "
                  f"({run.latency * 1000:.0f} ms of it the simulated latency).", ""]
    # throughput and critical over time
    lines += ["Over time (5 s buckets after the send): recipients reaching the provider, and the critical messages "
              "posted in the bucket:", "", "| seconds | recipients | critical sent | p50 | max |",
              "|---|---|---|---|---|"]
    end = max(last if not math.isnan(last) else run.send_at, run.send_at + run.send_seconds)
    buckets = int(math.ceil((end - run.send_at) / 5)) or 1
    per_bucket = Counter(int((t - run.send_at) // 5) for i, t in arrivals.items() if i not in critical_ids)
    for b in range(buckets):
        times = run.critical_times(run.send_at + 5 * b, run.send_at + 5 * (b + 1))
        finite = [t for t in times if not math.isinf(t)]
        lines.append(f"| {5 * b}–{5 * (b + 1)} | {per_bucket.get(b, 0):,} | {len(times)} | "
                     f"{ms(percentile(finite, 50))} | {ms(max(times) if times else math.nan)} |")
    lines += ["", "Critical messages (password reset, POST /api/v1/messages → arrival at the provider):", "",
              "| window | messages | p50 | p99 | max | never arrived |", "|---|---|---|---|---|---|",
              _critical_row("before the send (idle)", run.critical_times(end=run.send_at)),
              _critical_row("during the send request", run.critical_times(run.send_at, run.send_at + run.send_seconds)),
              _critical_row("send answered → first campaign request (freeze, first chunks)",
                            run.critical_times(run.send_at + run.send_seconds, first)),
              _critical_row("first → last campaign request (delivery)", run.critical_times(first, last)),
              _critical_row("**whole campaign (send → last request)**", during), ""]
    lines += critical_stages(run, first, last)
    acks = [c.latency for c in run.criticals if c.at >= run.send_at]
    failed = Counter(c.status for c in run.criticals if c.status != 201)
    lines += [f"The POST /api/v1/messages answer itself: p50 {ms(percentile(acks, 50))}, p99 {ms(percentile(acks, 99))}"
              f" during the campaign" + (f"; failed answers {dict(failed)}" if failed else "") + ".", ""]
    # CPU and memory
    lines += ["CPU seconds over the campaign (send → last recipient), and peak RSS:", "",
              "| process | CPU s | cores |", "|---|---|---|"]
    for name, seconds in sorted(run.cpu.items(), key=lambda kv: -kv[1]):
        if seconds >= 0.05:
            lines.append(f"| {name} | {seconds:.1f} | {seconds / run.wall:.2f} |")
    lines += [f"| **machine** | {run.busy_cores * run.wall:.1f} | {run.busy_cores:.2f} of {os.cpu_count()} |", "",
              "| process | peak RSS (VmHWM) | RSS at the end |", "|---|---|---|"]
    for name, (peak, now) in sorted(run.rss.items()):
        lines.append(f"| {name} | {peak:.0f} MB | {now:.0f} MB |")
    lines.append("")
    if run.profile:
        lines += report_profile(run.profile)
    if run.problems:
        lines += ["Log lines that look like problems:", "", *[f"- `{p}`" for p in run.problems], ""]
    return lines


def _sizes(sizes: list[int]) -> str:
    if not sizes:
        return "none"
    counted = Counter(sizes)
    common = ", ".join(f"{n}×{size:,}" for size, n in sorted(counted.items(), key=lambda kv: (-kv[1], -kv[0]))[:4])
    more = f" and {len(counted) - 4} other sizes" if len(counted) > 4 else ""
    return f"{len(sizes)} of {sum(sizes) / len(sizes):,.0f} recipients on average ({common}{more})"


def report_profile(profile: dict) -> list[str]:
    lines = []
    workers, web = profile["workers"], profile["web"]
    if workers["samples"]:
        total = workers["samples"]
        lines += [f"Where the workers' time went (py-spy at {workers.get('rate', 0)} Hz on {workers['processes']} "
                  f"workers, idle stacks included, {total:,} samples of the main threads: share of their wall time; "
                  "indented rows are part of the row above):", "", "| in | share |", "|---|---|"]
        for label, depth, samples in workers["inclusive"]:
            lines.append(f"| {'&nbsp;' * 4 * depth}{label} | {100 * samples / total:.1f}% |")
        lines += [f"| (the outbox sweep, on its own thread, was busy for the equivalent of "
                  f"{100 * workers['sweeping'] / total:.1f}%) | |", ""]
        sites, waits = workers["sites"], workers["waits"]
        if sites:
            lines += ["Innermost product frame of every busy sample (what the product code was doing, the libraries "
                      "it called included), and how much of it was waiting for PostgreSQL's answer:", "",
                      "| product frame | share of the workers' time | of which waiting on PostgreSQL |",
                      "|---|---|---|"]
            for site, samples in sites.most_common(14):
                lines.append(f"| `{site}` | {100 * samples / total:.1f}% | {100 * waits[site] / total:.1f}% |")
            lines.append("")
        for name, title in (("pump", "the pump"), ("delivery", "the delivery jobs")):
            leaves = workers["leaves"][name]
            spent = sum(leaves.values())
            if not spent:
                continue
            lines += [f"Innermost functions in {title} ({100 * spent / total:.1f}% of the workers' time):", "",
                      "| function | share of it |", "|---|---|"]
            for leaf, samples in leaves.most_common(10):
                lines.append(f"| `{leaf}` | {100 * samples / spent:.1f}% |")
            lines.append("")
    if web["samples"]:
        total = web["samples"]
        lines += [f"The web's time ({web['processes']} gunicorn workers × 2 threads, idle included):", "",
                  "| in | share |", "|---|---|"]
        for label, _depth, samples in web["inclusive"]:
            lines.append(f"| {label} | {100 * samples / total:.1f}% |")
        lines.append("")
    return lines


def code_fingerprint() -> tuple[str, str]:
    """(a short hash of every .py file under webapp/ and jobs/, the newest of them and when it was
    changed): the code a run measured, while other work may be changing it."""
    import hashlib

    digest, newest = hashlib.sha256(), (0.0, "")
    for path in sorted([*ROOT.glob("webapp/**/*.py"), *ROOT.glob("jobs/**/*.py")]):
        try:
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
            newest = max(newest, (path.stat().st_mtime, path.relative_to(ROOT).as_posix()))
        except OSError:
            continue
    when = datetime.fromtimestamp(newest[0], UTC).strftime("%H:%M:%S UTC") if newest[0] else "?"
    return digest.hexdigest()[:10], f"{newest[1]} at {when}"


def code_state() -> str:
    """The commit measured, and whether webapp/ or jobs/ had uncommitted changes (read-only git)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "webapp", "jobs"], cwd=ROOT, env=env,
                               capture_output=True, timeout=30).returncode != 0
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"commit {head or 'unknown'}" + (" with uncommitted changes in webapp/ and jobs/" if dirty else "")


def report(args, runs: list[Run], duration: float, idle: tuple[float, float], costs: list[dict]) -> list[str]:
    command = " ".join(["python", "bench/campaign.py", *sys.argv[1:]])
    lines = [HEADING, "",
             f"`{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {duration:.0f} s — {machine.describe()}; "
             f"{idle[0]:.2f} cores busy before the start (waited {idle[1]:.0f} s for a quiet moment); the code "
             f"measured: {code_state()}; each run below names the product code its services ran, and the "
             f"in-process step costs at the end ran the code this process imported at its start (fingerprint "
             f"`{IMPORTED_CODE[0]}`, newest change {IMPORTED_CODE[1]}).", "",
             f"{args.recipients:,} customers opted in to email, a segment (tag “newsletter”) and a campaign made "
             "through the API, then POST /api/v1/campaigns/<id>/send. Web: gunicorn "
             f"{' '.join(GUNICORN_OPTIONS)}; {args.workers} × `rq worker -w jobs.worker.AppWorker` (the first "
             "`--with-scheduler`); the store's email provider is SendGrid (the official SDK) pointed at "
             f"`bench/sendgrid_server.py`, its own process, {args.latency * 1000:.0f} ms per request, ≤ 1,000 "
             "recipients per request; no rate limits; a password reset through POST /api/v1/messages every "
             f"{args.critical_interval * 1000:.0f} ms from {args.baseline:.0f} s before the send until the last "
             "recipient. The issue's measured limits on this machine: " + LIMITS + ".", ""]
    for run in runs:
        lines += report_run(run)
    if costs:
        lines += ["### Cost per notification, step by step", ""]
        for found in costs:
            lines += report_statements(found)
    return lines


# ------------------------------------------------------------------------------------------------- main


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="postgresql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency", type=float, default=LATENCY, help="the provider's seconds per request")
    parser.add_argument("--critical-interval", type=float, default=0.2, help="seconds between password resets")
    parser.add_argument("--baseline", type=float, default=5.0, help="seconds of critical messages before the send")
    parser.add_argument("--poll-seconds", type=float, default=2.0,
                        help="how often GET /api/v1/campaigns/<id> is read while sending, as a dashboard would")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for every recipient")
    parser.add_argument("--stall", type=float, default=90.0, help="give up after this long without progress")
    parser.add_argument("--profile", action="store_true",
                        help="one more run on the first database with py-spy attached to the workers and the web")
    parser.add_argument("--profile-only", action="store_true", help="only the profiled run")
    parser.add_argument("--profile-rate", type=int, default=50, help="py-spy samples per second")
    parser.add_argument("--profile-dir", default=None,
                        help="keep py-spy's raw stacks here (flamegraph.pl or speedscope read them)")
    parser.add_argument("--statements", type=int, default=2000,
                        help="recipients of a campaign run in this process with every step and statement timed "
                             "(0: skip)")
    parser.add_argument("--redis-url", default=None, help=f"default: the machine's Redis, database {REDIS_DB}")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait at most for a quiet machine")
    parser.add_argument("--lock-wait", type=float, default=900.0)
    parser.add_argument("--results", default=str(RESULTS), help="RESULTS.md to update ('-': nowhere)")
    args = parser.parse_args(argv)
    if (args.profile or args.profile_only) and py_spy() is None:
        parser.error("--profile needs py-spy (pip install py-spy, or PY_SPY=/path/to/py-spy)")
    if args.recipients < 1 or args.workers < 1:
        parser.error("--recipients and --workers must be positive")
    return args


def redis_for(args) -> str:
    url = args.redis_url
    if url is None:
        url = f"redis://127.0.0.1:6379/{REDIS_DB}"
        if not machine.is_reachable(url):
            url = machine.default_redis_url()
    if not url.startswith("unix://") and (urlsplit(url).hostname or "") not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("refusing to flush a Redis that is not on this machine")
    return url


IMPORTED_CODE = code_fingerprint()  # what this process imported: the in-process step costs run it


def main(argv=None) -> int:
    args = parse_args(argv)
    with exclusive_run(args.lock_wait):  # bench/pipeline.py's lock: the two would skew each other's numbers
        idle = settle(args.settle)
        started = time.monotonic()
        redis_url = redis_for(args)
        runs: list[Run] = []
        costs: list[dict] = []
        with tempfile.TemporaryDirectory(prefix="notifyhub-campaign-") as tmp:
            found = machine.databases(tmp, PG_SCHEMA)
            wanted = [(label, url, drop) for label, url, drop in found
                      if args.database == "both" or label.lower().startswith(args.database)]
            if not wanted:
                raise SystemExit(f"{args.database} is not reachable here")
            plan = [] if args.profile_only else [(db_, False) for db_ in wanted]
            if args.profile or args.profile_only:
                plan.append((wanted[-1], True))  # PostgreSQL when measured: the target's database
            try:
                for (label, url, _drop), profile in plan:
                    print(f"{label}{' with py-spy' if profile else ''}:", flush=True)
                    runs.append(run_campaign(label, url, args, Path(tmp), redis_url, profile))
                    print("\n".join(report_run(runs[-1])[:8]), flush=True)
                if args.statements:
                    for label, url, _drop in wanted:
                        print(f"{label}: {args.statements:,} recipients in process, every statement timed…",
                              flush=True)
                        costs.append(statement_costs(label, url, redis_url, args.statements, Path(tmp)))
                        print("\n".join(report_statements(costs[-1])), flush=True)
            finally:
                for _label, _url, drop in found:
                    if drop:
                        drop()
        machine.publish(args.results, HEADING, report(args, runs, time.monotonic() - started, idle, costs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
