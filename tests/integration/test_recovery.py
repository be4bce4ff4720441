"""Nothing is lost and nothing is sent twice when a worker dies mid-delivery or Redis goes away."""
import json
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from tests.fakes.http import FakeServer, Reply
from tests.pipeline import connect_sources, post_shopify, set_rule, shopify_order
from tests.runtime import settings_of
from tests.workers import WorkerProcess, wait_for
from webapp.channels.models import ProviderConfig
from webapp.crypto import vault
from webapp.dispatch.models import Notification
from webapp.dispatch.recovery import sweep_notifications
from webapp.extensions import db
from webapp.redis_conn import start_embedded_redis, stop_embedded_redis
from webapp.timeutil import utcnow

ORDERS = 12  # 24 messages: email + SMS each


class SlowProvider:
    """A provider that takes a while per message and, like real ones with idempotency keys,
    accepts each key once: a repeat answers the first id and sends nothing."""

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


def use_provider(store, url: str) -> None:
    for channel in ("email", "sms"):
        db.session.add(ProviderConfig(store_id=store.id, channel=channel, provider="webhook", base_url=url,
                                      secrets_encrypted=vault().encrypt(json.dumps({"signing_secret": "s" * 20}))))
    db.session.commit()


def statuses() -> Counter:
    db.session.expire_all()
    return Counter(dict(db.session.execute(select(Notification.status, func.count()).group_by(Notification.status))
                        .all()))


def send_cancellations(client, store, count: int, prefix: str) -> None:
    for n in range(count):
        order_id = int.from_bytes(prefix.encode(), "big") * 10000 + n
        payload = shopify_order(id=order_id, name=f"#{prefix}{n}", email=f"c{n}@example.com",
                                phone=f"+1415555{n:04d}")
        assert post_shopify(client, store, "orders/cancelled", payload, f"{prefix}-{n}").status_code == 200


@pytest.fixture
def provider():
    fake = SlowProvider(delay=0.15)
    yield fake
    fake.server.close()


def test_killing_the_worker_mid_delivery_loses_nothing_and_duplicates_nothing(app, client, store, provider,
                                                                              redis_url, tmp_path):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    use_provider(store, provider.server.url)
    send_cancellations(client, store, ORDERS, "K")
    assert statuses() == Counter({"pending": 2 * ORDERS})

    first = WorkerProcess(app, redis_url, tmp_path / "worker1.log")
    try:
        wait_for(lambda: len(provider.accepted) >= 3, 30, "the first deliveries")
        first.kill()  # mid-delivery: a provider call is in flight
    finally:
        first.stop()
    delivered_before_restart = len(provider.accepted)
    assert delivered_before_restart < 2 * ORDERS

    second = WorkerProcess(app, redis_url, tmp_path / "worker2.log")
    try:
        wait_for(lambda: statuses() == Counter({"sent": 2 * ORDERS}), 90, "every notification to be sent")
    finally:
        second.stop()
    keys = set(db.session.scalars(select(Notification.idempotency_key)))
    assert set(provider.accepted) == keys  # every message reached the provider
    # At most the one message in flight at the kill is sent again, with the same idempotency key, so a
    # provider that honours the key (as this one and the sandbox do) delivers each message once.
    assert sum(provider.calls.values()) - len(keys) <= 1
    # Every attempt is on the timeline before the provider is called: a message sent twice shows both.
    db.session.expire_all()
    for row in db.session.scalars(select(Notification)):
        started = [event for event in row.events if event.kind == "started"]
        assert started and started[0].detail.startswith("attempt 1 started on ")
        if provider.calls[row.idempotency_key] > 1:
            assert len(started) >= 2


def test_redis_outage_loses_nothing(app, client, store, provider, tmp_path):
    redis_dir = tmp_path / "redis"
    url = start_embedded_redis(redis_dir)
    app.config["REDIS_URL"] = url
    app.extensions.pop("redis", None)
    app.extensions.pop("redis-enqueue", None)
    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    use_provider(store, provider.server.url)
    worker = WorkerProcess(app, url, tmp_path / "worker.log")
    try:
        send_cancellations(client, store, 2, "A")
        wait_for(lambda: statuses() == Counter({"sent": 4}), 30, "deliveries before the outage")

        stop_embedded_redis(redis_dir)
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(url).ping()
        send_cancellations(client, store, 3, "B")  # accepted and stored while Redis is down
        assert statuses()["pending"] == 6
        time.sleep(2)

        start_embedded_redis(redis_dir)  # back, and empty: every queued job is gone
        redis.Redis.from_url(url).flushall()
        wait_for(lambda: statuses() == Counter({"sent": 10}), 60, "deliveries after Redis came back")
    finally:
        worker.stop()
        stop_embedded_redis(redis_dir)
    assert len(provider.accepted) == 10 and max(provider.calls.values()) == 1


def test_the_sweep_never_takes_a_row_whose_lease_is_live_however_old_the_claim(app, store):
    """A long batch: claimed ten minutes ago, lease still running. Only an expired lease is taken."""
    long_ago, now = utcnow() - timedelta(minutes=10), utcnow()
    rows = {}
    for name, expires in (("live", now + timedelta(seconds=30)), ("expired", now - timedelta(seconds=1))):
        rows[name] = Notification(store_id=store.id, source="api", message_type="order.ready", channel="email",
                                  priority="transactional", recipient=f"{name}@b.test", body="b", status="sending",
                                  idempotency_key=f"lease-{name}", claimed_at=long_ago, queued_at=long_ago,
                                  lease_owner="host:1/abcd", lease_expires_at=expires)
        db.session.add(rows[name])
    db.session.commit()
    assert sweep_notifications(settings_of(app)) == 1
    db.session.expire_all()
    assert db.session.get(Notification, rows["live"].id).status == "sending"
    assert db.session.get(Notification, rows["expired"].id).status == "pending"
