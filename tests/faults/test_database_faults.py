"""The database refusing connections for 10 s under a busy worker while webhooks keep arriving:
webhooks are answered 503 with Retry-After (so the platform sends them again), workers live on,
and afterwards every message is delivered once, none left pending or sending."""
from __future__ import annotations

import time

import pytest

from tests.conftest import make_app
from tests.faults.harness import (
    DatabaseOutage,
    assert_every_message_delivered_once,
    cancellation_orders,
    post_cancellations,
    statuses,
)
from tests.pipeline import post_shopify
from tests.workers import WorkerProcess, wait_for

OUTAGE_SECONDS = 10
BEFORE, DURING = 15, 6


@pytest.fixture
def outage(app):
    broken = DatabaseOutage(app.config["SQLALCHEMY_DATABASE_URI"])
    yield broken
    broken.close()


def test_the_database_refusing_connections_for_10_seconds(app, own_redis, cancelling_store, provider, outage,
                                                          tmp_path):
    # The web app and the worker reach the database through the outage; the test reads it directly.
    web = make_app(outage.url, own_redis.url, tmp_path / "web").test_client()
    worker = WorkerProcess(app, own_redis.url, tmp_path / "worker.log", database_url=outage.url)
    store = cancelling_store
    try:
        assert set(post_cancellations(web, store, cancellation_orders(BEFORE, "B"))) == {200}
        wait_for(lambda: len(provider.accepted) >= 4, 30, "the first deliveries")
        refused = []
        with outage.down():
            deadline = time.monotonic() + OUTAGE_SECONDS
            for webhook_id, payload in cancellation_orders(DURING, "O"):
                if time.monotonic() > deadline:
                    refused.append((webhook_id, payload))  # the platform's retry, after the outage
                    continue
                response = post_shopify(web, store, "orders/cancelled", payload, webhook_id)
                assert response.status_code == 503 and response.headers["Retry-After"], response.get_data()
                assert response.is_json
                refused.append((webhook_id, payload))
            time.sleep(max(0.0, deadline - time.monotonic()))
            assert worker.process.poll() is None, "the worker exited during the outage"
        # Shopify retries what was refused; now it is accepted.
        assert set(post_cancellations(web, store, refused)) == {200}
        expected = 2 * (BEFORE + DURING)
        wait_for(lambda: statuses()["sent"] == expected, 90, "every message after the database came back")
    finally:
        worker.stop()
    assert_every_message_delivered_once(provider, 2 * (BEFORE + DURING))
