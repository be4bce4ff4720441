import itertools
import re
from datetime import timedelta

import redis
from rq import Queue, Worker

from tests.factories import make_store
from webapp.dispatch.models import Notification
from webapp.extensions import db
from webapp.redis_conn import get_redis
from webapp.timeutil import utcnow

_keys = itertools.count(1)
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused at once


def notification(store, status: str, age: timedelta, finished_ago: timedelta | None = None) -> Notification:
    now = utcnow()
    row = Notification(store_id=store.id, source="shopify", message_type="order.ready", channel="email",
                       priority="transactional", recipient="a@b.test", body="<p>x</p>", status=status,
                       idempotency_key=f"health-{next(_keys)}", created_at=now - age,
                       finished_at=now - finished_ago if finished_ago is not None else None)
    db.session.add(row)
    db.session.commit()
    return row


def break_redis(app) -> None:
    app.extensions["redis"] = redis.Redis.from_url(DEAD_REDIS)
    app.extensions.pop("redis_health", None)


def test_healthz_answers_ok_without_signing_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}


def test_healthz_answers_503_naming_redis_when_redis_is_down(app, client):
    break_redis(app)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"ok": False, "failed": ["redis"]}


def test_health_counts_this_stores_notifications_and_the_shared_queues_for_support(client, login_as, store):
    notification(store, "pending", timedelta(minutes=20))
    notification(store, "retrying", timedelta(minutes=5))
    notification(store, "failed", timedelta(minutes=15), finished_ago=timedelta(minutes=10))
    notification(store, "failed", timedelta(hours=3), finished_ago=timedelta(hours=2))
    notification(store, "sent", timedelta(hours=30), finished_ago=timedelta(hours=30))
    notification(make_store("rival"), "pending", timedelta(hours=5))
    connection = get_redis()
    Queue("critical", connection=connection).enqueue("jobs.deliver.deliver_notifications", [1])
    worker = Worker([Queue("critical", connection=connection)], connection=connection, name="health-test-worker")
    worker.register_birth()
    login_as("support")

    stats = client.get("/health.json").get_json()

    numbers = stats["store"]
    assert numbers["open_notifications"] == 2
    assert 19 * 60 <= numbers["oldest_open_age_seconds"] <= 21 * 60  # the other store's older one is not counted
    assert numbers["failed_last_hour"] == 1
    assert numbers["by_status_last_24h"]["failed"] == 2
    assert numbers["by_status_last_24h"]["sent"] == 0
    assert numbers["by_status_last_24h"]["pending"] == 1
    queues = {q["name"]: q for q in stats["redis"]["queues"]}
    assert set(queues) == {"critical", "transactional", "marketing"}
    assert queues["critical"]["queued"] == 1 and queues["transactional"]["queued"] == 0
    assert [w["name"] for w in stats["redis"]["workers"]] == ["health-test-worker"]
    assert stats["redis"]["workers"][0]["queues"] == ["critical"]

    page = client.get("/health")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "health-test-worker" in html and "failed in the last hour" in html
    assert re.search(r"<th scope=\"row\">Critical</th><td class=\"num\">1</td>", html)


def test_health_page_says_redis_is_unreachable_instead_of_failing(app, client, login_as, store):
    login_as("owner")
    break_redis(app)
    response = client.get("/health")
    assert response.status_code == 200
    assert "Redis is unreachable" in response.get_data(as_text=True)
    stats = client.get("/health.json").get_json()
    assert stats["redis"] == {"reachable": False, "queues": None, "workers": None}
    assert stats["store"]["failed_last_hour"] == 0


def test_health_pages_need_sign_in(client):
    assert client.get("/health").status_code == 302
    assert client.get("/health.json").status_code == 302
