"""A database or Redis that is away is answered 503 with Retry-After (JSON on machine endpoints),
never a 4xx a platform would read as "do not retry"."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.conftest import CSRF_RE, make_app
from tests.pipeline import (
    BIGCOMMERCE_SECRET,
    SHOPIFY_SECRET,
    WOO_SECRET,
    connect_sources,
    notifications,
    post_shopify,
    set_rule,
    shopify_order,
)
from webapp.events.api_keys import PREFIX, create_api_key
from webapp.events.signatures import hmac_sha256_base64
from webapp.redis_conn import start_embedded_redis, stop_embedded_redis

REFUSING_DATABASE = "postgresql://postgres@127.0.0.1:1/unreachable"  # nothing listens on port 1


@pytest.fixture
def outage_client(redis_url, tmp_path):
    return make_app(REFUSING_DATABASE, redis_url, tmp_path).test_client()


def test_webhooks_and_the_api_answer_503_with_retry_after_while_the_database_refuses(outage_client):
    body = json.dumps(shopify_order()).encode()
    webhook = outage_client.post("/webhooks/shopify/acme", data=body, content_type="application/json", headers={
        "X-Shopify-Topic": "orders/paid", "X-Shopify-Webhook-Id": "wh-1",
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64("secret", body)})
    api = outage_client.post("/api/v1/events", json={"source": "cto"},
                             headers={"Authorization": f"Bearer {PREFIX}{'x' * 40}"})
    callback = outage_client.post("/callbacks/twilio/acme/status", data={"MessageSid": "SM1"})
    for response in (webhook, api, callback):
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.headers["Retry-After"] == "5"
        assert response.get_json() == {"error": "temporarily unavailable; nothing was stored, retry later"}


def test_the_dashboard_says_so_in_words(outage_client):
    token = next(g for g in CSRF_RE.search(outage_client.get("/login").get_data(as_text=True)).groups() if g)
    response = outage_client.post("/login", data={"email": "owner@demo.test", "password": "x", "csrf_token": token})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "Temporarily unavailable" in response.get_data(as_text=True)


def deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def signed_headers(path: str, body: bytes, key: str) -> dict:
    """What each endpoint needs to get past its authentication to the body."""
    if "shopify" in path:
        return {"X-Shopify-Topic": "orders/paid", "X-Shopify-Webhook-Id": "deep-1",
                "X-Shopify-Hmac-Sha256": hmac_sha256_base64(SHOPIFY_SECRET, body)}
    if "woocommerce" in path:
        return {"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Delivery-ID": "1",
                "X-WC-Webhook-Signature": hmac_sha256_base64(WOO_SECRET, body)}
    if "bigcommerce" in path:
        return {"X-Webhook-Secret": BIGCOMMERCE_SECRET}
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("path", ["/webhooks/shopify/acme", "/webhooks/woocommerce/acme", "/webhooks/bigcommerce/acme",
                                  "/api/v1/events", "/callbacks/ses/acme", "/callbacks/mailgun/acme",
                                  "/callbacks/sendgrid/acme/events", "/callbacks/360dialog/acme",
                                  "/callbacks/vonage/acme/status"])
def test_deeply_nested_json_is_a_json_400_on_every_public_endpoint(app, client, store, path):
    connect_sources(store)
    key = create_api_key(store.id, "t").plaintext
    for body in (deep(100_000), deep(65)):
        response = client.post(path, data=body, content_type="application/json",
                               headers=signed_headers(path, body, key))
        assert response.status_code == 400, (path, response.status_code, response.get_data(as_text=True)[:200])
        answer = response.get_json()  # webhooks keep their {"status": "rejected", "reason": …} shape
        assert "nested deeper than 64 levels" in (answer.get("error") or answer["reason"])


def test_too_large_bodies_are_answered_in_json_on_machine_endpoints(client, store):
    key = create_api_key(store.id, "t").plaintext
    for path, headers in (("/api/v1/events", {"Authorization": f"Bearer {key}"}), ("/callbacks/ses/acme", {}),
                          ("/webhooks/shopify/acme", {})):
        response = client.post(path, data=b"x" * (1024 * 1024 + 1), content_type="application/json", headers=headers)
        assert response.status_code == 413 and response.get_json() == {
            "error": "The request body is larger than this endpoint accepts."}, path


def test_webhooks_are_answered_within_a_second_while_redis_hangs(app, client, store, tmp_path):
    """SIGSTOP on the Redis server: connections open, nothing answers. The events are stored, the
    senders answered at once, and the rows wait, unqueued, for the sweep."""
    redis_dir = tmp_path / "redis"
    url = start_embedded_redis(redis_dir)
    app.config["REDIS_URL"] = url
    for name in ("redis", "redis-enqueue"):
        app.extensions.pop(name, None)
    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    pid = int((redis_dir / "redis.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        for n in range(3):
            order = shopify_order(id=820982911946154500 + n, cancelled_at="2024-05-02T10:00:00Z")
            started = time.monotonic()
            response = post_shopify(client, store, "orders/cancelled", order, f"hang-{n}")
            assert response.status_code == 200 and time.monotonic() - started < 1.0
    finally:
        os.kill(pid, signal.SIGCONT)
        stop_embedded_redis(redis_dir)
    rows = notifications(store.id)
    assert len(rows) == 6 and {(r.status, r.job_id) for r in rows} == {("pending", None)}
