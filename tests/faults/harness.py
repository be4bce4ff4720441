"""What the fault suite is made of: a Redis each test starts and breaks itself, a database that can
be made to refuse connections, a recording provider that counts what it received per message, and
the counts every case asserts.

Every case runs real `rq worker` processes (tests/workers.py) against the app's database, with the
recovery timings shortened through settings (a one-second sweep and lease), not skipped.
"""
from __future__ import annotations

import json
import os
import select as select_module
import signal
import socket
import sqlite3
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.fakes.http import FakeServer, Reply
from tests.pipeline import post_shopify, shopify_order
from webapp.channels.models import ProviderConfig
from webapp.crypto import vault
from webapp.dispatch.models import Notification
from webapp.extensions import db
from webapp.redis_conn import start_embedded_redis, stop_embedded_redis


class RecordingProvider:
    """A provider endpoint (the generic signed webhook) that takes `delay` seconds per message and,
    like real providers with idempotency keys, accepts each key once: a repeat is counted as a call
    and answered with the first id, so `calls` is what reached the provider and `accepted` what it
    delivered."""

    def __init__(self, delay: float):
        self.delay = delay
        self.accepted: dict[str, str] = {}
        self.calls: Counter = Counter()
        self.lock = threading.Lock()
        self.server = FakeServer(self.handle)

    def handle(self, request):
        key = request.headers["Idempotency-Key"]
        assert request.headers["X-NotifyHub-Signature"].startswith("t=")
        time.sleep(self.delay)
        with self.lock:
            self.calls[key] += 1
            message_id = self.accepted.setdefault(key, f"msg-{len(self.accepted) + 1}")
        return Reply(200, {"id": message_id})

    def close(self):
        self.server.close()


class OutageProvider(RecordingProvider):
    """The recording provider that also keeps who each message was for (`recipients`: idempotency
    key → the body's "to", first seen) and, while `down`, answers 503 as a provider in an outage
    does, counting those refusals per key in `refused` (neither `calls` nor `accepted`)."""

    def __init__(self, delay: float):
        super().__init__(delay)
        self.down = False
        self.recipients: dict[str, str] = {}
        self.refused: Counter = Counter()

    def handle(self, request):
        key = request.headers["Idempotency-Key"]
        with self.lock:
            self.recipients.setdefault(key, request.json()["to"])
            if self.down:
                self.refused[key] += 1
                return Reply(503, {"error": "service unavailable"})
        return super().handle(request)

    def accepted_by_recipient(self) -> Counter:
        """How many distinct messages (keys) the provider accepted for each recipient address."""
        with self.lock:
            return Counter(self.recipients[key] for key in self.accepted)


def use_provider(store, url: str, channels=("email", "sms")) -> None:
    for channel in channels:
        db.session.add(ProviderConfig(store_id=store.id, channel=channel, provider="webhook", base_url=url,
                                      secrets_encrypted=vault().encrypt(json.dumps({"signing_secret": "s" * 20}))))
    db.session.commit()


def statuses() -> Counter:
    db.session.expire_all()
    return Counter(dict(db.session.execute(select(Notification.status, func.count()).group_by(Notification.status))
                        .all()))


def cancellation_orders(count: int, prefix: str) -> list[tuple[str, dict]]:
    """`count` distinct Shopify orders/cancelled payloads (each sends an email and an SMS)."""
    orders = []
    for n in range(count):
        order_id = int.from_bytes(prefix.encode(), "big") * 100000 + n
        orders.append((f"{prefix}-{n}", shopify_order(id=order_id, name=f"#{prefix}{n}", email=f"c{n}@example.com",
                                                      phone=f"+1415555{n:04d}")))
    return orders


def post_cancellations(client, store, orders, *, max_seconds: float | None = None) -> list[int]:
    """POST each order as a signed webhook; the answers' status codes. With `max_seconds`, each
    answer must come within it (Shopify gives up after 5 s)."""
    codes = []
    for webhook_id, payload in orders:
        started = time.monotonic()
        codes.append(post_shopify(client, store, "orders/cancelled", payload, webhook_id).status_code)
        if max_seconds is not None:
            elapsed = time.monotonic() - started
            assert elapsed < max_seconds, f"webhook {webhook_id} answered after {elapsed:.2f}s"
    return codes


def assert_every_message_delivered_once(provider: RecordingProvider, expected: int) -> None:
    """0 lost, 0 left pending or sending, each message accepted once; a message that reached the
    provider more than once shows an attempt per call on its timeline (the duplicate at-least-once
    delivery allows after a crash is visible on the Activity page)."""
    assert statuses() == Counter({"sent": expected})
    rows = list(db.session.scalars(select(Notification)))
    assert set(provider.accepted) == {row.idempotency_key for row in rows}
    for row in rows:
        started = [event for event in row.events if event.kind == "started"]
        assert started and started[0].detail.startswith("attempt 1 started on "), row.id
        assert len(started) >= provider.calls[row.idempotency_key], (
            f"notification {row.id} reached the provider {provider.calls[row.idempotency_key]} times "
            f"but its timeline shows {len(started)} attempts")


def assert_no_message_sent_twice(provider: RecordingProvider) -> None:
    repeats = {key: n for key, n in provider.calls.items() if n > 1}
    assert repeats == {}, f"sent more than once: {repeats}"


# --- Redis the test starts, stops and hangs ------------------------------------------------------------

class TestRedis:
    """An embedded Redis in `data_dir` that the test owns: stop (connections refused), start again
    (its data reloaded from the snapshot it saved), hang (SIGSTOP: connections open, nothing
    answers) and resume."""

    __test__ = False  # not a pytest class

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.url = start_embedded_redis(data_dir)

    @property
    def pid(self) -> int:
        return int((self.data_dir / "redis.pid").read_text())

    def stop(self) -> None:
        stop_embedded_redis(self.data_dir)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
            except (redis.ConnectionError, redis.TimeoutError):
                return
            time.sleep(0.05)
        raise AssertionError("Redis did not stop")

    def start(self) -> None:
        assert start_embedded_redis(self.data_dir) == self.url

    def hang(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def close(self) -> None:
        try:
            self.resume()
        except (ProcessLookupError, FileNotFoundError, ValueError):
            pass
        stop_embedded_redis(self.data_dir)


def use_redis(app, url: str) -> None:
    app.config["REDIS_URL"] = url
    for name in ("redis", "redis-enqueue"):
        app.extensions.pop(name, None)


# --- a database that refuses ----------------------------------------------------------------------------

class TcpProxy:
    """127.0.0.1:<port> forwarded to a PostgreSQL server. `refuse()` closes the listener and cuts
    every open connection (clients see "connection refused" and broken connections, as when the
    server goes away); `accept()` listens again on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = _free_port()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener: socket.socket | None = None
        self.accept()

    def accept(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._serve, args=(listener,), daemon=True).start()

    def refuse(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)  # shutdown first: a close alone leaves a socket blocked in accept() listening
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _close(sock)

    def close(self) -> None:
        self.refuse()

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select_module.select([a, b], [], [], 1.0)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        raise OSError("closed")
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            _close(a)
            _close(b)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DatabaseOutage:
    """The app's database made unavailable on demand, for the web app and workers alike.

    PostgreSQL: everyone connects through a TcpProxy, which refuses connections during the outage.
    SQLite (no server to stop): an exclusive lock held by another connection, so every statement
    fails with "database is locked" after the driver's busy wait, as a refused connection would.
    `url` is the database URL to give the app and the workers."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.proxy = None
        self._lock_conn = None
        url = make_url(database_url)
        if url.get_backend_name() == "postgresql":
            self.proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
            self.url = url.set(host="127.0.0.1", port=self.proxy.port).render_as_string(hide_password=False)
        else:
            self.url = database_url

    @contextmanager
    def down(self):
        if self.proxy is not None:
            self.proxy.refuse()
        else:
            self._lock_conn = sqlite3.connect(make_url(self.database_url).database, isolation_level=None)
            self._lock_conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            if self.proxy is not None:
                self.proxy.accept()
            else:
                self._lock_conn.execute("ROLLBACK")
                self._lock_conn.close()

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
