"""WooCommerce, BigCommerce and the REST API end in the same pipeline as Shopify."""
import copy
import json

import pytest
from sqlalchemy import func, select

from tests.fakes.http import FakeServer, Reply
from tests.pipeline import (
    BIGCOMMERCE_SECRET,
    connect_sources,
    fixture,
    notifications,
    post_woocommerce,
    run_worker,
    sandbox_messages,
    set_rule,
)
from webapp.events.api_keys import create_api_key
from webapp.events.integrations import set_secret
from webapp.events.models import InboundEvent
from webapp.extensions import db
from webapp.orders.models import Order


def woo_order(status: str) -> dict:
    order = copy.deepcopy(fixture("woocommerce/order-processing.json"))
    order["status"] = status
    order["date_modified_gmt"] = "2024-03-01T10:00:00"
    order["billing"]["phone"] = "+1 415 555 0100"
    return order


def test_woocommerce_cancelled_sends_once_even_when_delivered_three_times(client, store):
    connect_sources(store)
    set_rule(store, "woocommerce", "cancelled")
    payload = woo_order("cancelled")
    for delivery in ("10", "11", "12"):  # WooCommerce retries get new delivery ids
        assert post_woocommerce(client, store, "order.updated", payload, delivery=delivery).status_code == 200
    run_worker()
    email, sms = sandbox_messages(store.id)
    assert email.recipient == "john.doe@example.com" and sms.recipient == "+14155550100"


def test_woocommerce_inactive_rule_and_bad_signature(client, store):
    connect_sources(store)
    set_rule(store, "woocommerce", "cancelled", active=False)
    assert post_woocommerce(client, store, "order.updated", woo_order("cancelled")).status_code == 200
    assert post_woocommerce(client, store, "order.updated", woo_order("completed"), secret="w" * 30).status_code == 401
    run_worker()
    assert notifications(store.id) == []


def test_woocommerce_ping_on_webhook_creation_is_answered(client, store):
    response = client.post(f"/webhooks/woocommerce/{store.slug}", data=b"webhook_id=17",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == 0


@pytest.fixture
def bigcommerce_api():
    orders = {"118": {"id": 118, "status_id": 5, "status": "Cancelled",
                      "date_modified": "Tue, 05 Mar 2024 10:00:00 +0000", "total_inc_tax": "129.5000",
                      "currency_code": "EUR", "customer_locale": "fr",
                      "billing_address": {"first_name": "Chloé", "last_name": "Martin", "email": "chloe@example.fr",
                                          "phone": "+33 6 12 34 56 78", "country_iso2": "FR"}}}

    def handle(request):
        if request.headers.get("X-Auth-Token") != "bc-api-token":
            return Reply(401, {"status": 401, "title": "Unauthorized"})
        order_id = request.path.rsplit("/", 1)[-1]
        if request.method != "GET" or not request.path.startswith("/stores/abc123/v2/orders/"):
            return Reply(404, [{"status": 404, "message": "not found"}])
        return Reply(200, orders[order_id]) if order_id in orders else Reply(404, [{"status": 404}])

    server = FakeServer(handle)
    yield server
    server.close()


def post_bigcommerce(client, store, payload, secret=BIGCOMMERCE_SECRET):
    return client.post(f"/webhooks/bigcommerce/{store.slug}", data=json.dumps(payload),
                       headers={"Content-Type": "application/json", "X-Webhook-Secret": secret})


BC_CANCELLED = {"scope": "store/order/statusUpdated", "store_id": "1025646", "hash": "f1e2d3",
                "created_at": 1709632800, "producer": "stores/abc123",
                "data": {"type": "order", "id": 118, "status": {"previous_status_id": 11, "new_status_id": 5}}}


def test_bigcommerce_status_update_fetches_the_order_and_sends_once(client, store, bigcommerce_api):
    set_secret(store.id, "bigcommerce", BIGCOMMERCE_SECRET, api_token="bc-api-token",
               settings={"store_hash": "abc123", "api_base_url": bigcommerce_api.url})
    set_rule(store, "bigcommerce", "cancelled")
    for _ in range(3):
        assert post_bigcommerce(client, store, BC_CANCELLED).status_code == 200
    run_worker()
    [fetch] = bigcommerce_api.requests
    assert fetch.path == "/stores/abc123/v2/orders/118" and fetch.headers["Accept"] == "application/json"
    email, sms = sandbox_messages(store.id)
    assert email.recipient == "chloe@example.fr" and email.subject == "Commande 118 annulée"
    assert sms.recipient == "+33612345678"
    order = db.session.scalar(select(Order))
    assert (order.status, order.currency, str(order.total)) == ("cancelled", "EUR", "129.50")


def test_bigcommerce_bad_header_secret_is_refused(client, store):
    connect_sources(store)
    assert post_bigcommerce(client, store, BC_CANCELLED, secret="nope" * 5).status_code == 401
    assert post_bigcommerce(client, store, {"scope": "store/order/statusUpdated"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == 0


def api_event(status="cancelled", order_id="ERP-77", **changes):
    event = {"source": "cto", "type": "order.status", "status": status,
             "order": {"id": order_id, "number": "CTO-77", "total": "18.20", "currency": "USD",
                       "customer": {"name": "Dieter Weber", "email": "dieter@example.de", "phone": "+4915112345678",
                                    "locale": "de"}}}
    return event | changes


def test_rest_api_event_is_idempotent_and_sends_once(client, store):
    key = create_api_key(store.id, "ERP").plaintext
    set_rule(store, "cto", "cancelled")
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "evt-1"}
    first = client.post("/api/v1/events", json=api_event(), headers=headers)
    again = client.post("/api/v1/events", json=api_event(), headers=headers)
    assert first.status_code == 201 and again.status_code == 201
    assert first.get_json() == again.get_json() and len(first.get_json()["notification_ids"]) == 2
    other_key = client.post("/api/v1/events", json=api_event(), headers={"Authorization": f"Bearer {key}"})
    assert other_key.get_json()["notification_ids"] == []  # the order is already cancelled
    run_worker()
    email, sms = sandbox_messages(store.id)
    assert email.subject == "Bestellung CTO-77 wurde storniert" and sms.recipient == "+4915112345678"


def test_rest_api_rejects_bad_keys_and_bad_payloads_storing_nothing(client, store):
    key = create_api_key(store.id, "ERP").plaintext
    assert client.post("/api/v1/events", json=api_event()).status_code == 401
    assert client.post("/api/v1/events", json=api_event(), headers={"Authorization": "Bearer nh_wrong"}
                       ).status_code == 401
    bad = client.post("/api/v1/events", json=api_event(status="teleported"), headers={"Authorization": f"Bearer {key}"})
    assert bad.status_code == 400 and "status" in bad.get_json()["error"]
    reused = client.post("/api/v1/events", json=api_event(), headers={"Authorization": f"Bearer {key}",
                                                                      "Idempotency-Key": "k"})
    assert reused.status_code == 201
    conflict = client.post("/api/v1/events", json=api_event(order_id="OTHER"),
                           headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "k"})
    assert conflict.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_revoked_api_key_is_refused(client, store):
    from webapp.events.api_keys import revoke_api_key

    new = create_api_key(store.id, "ERP")
    revoke_api_key(store.id, new.row.id)
    response = client.post("/api/v1/events", json=api_event(), headers={"Authorization": f"Bearer {new.plaintext}"})
    assert response.status_code == 401


def test_inactive_rules_send_nothing_for_bigcommerce_and_the_api(client, store, bigcommerce_api):
    set_secret(store.id, "bigcommerce", BIGCOMMERCE_SECRET, api_token="bc-api-token",
               settings={"store_hash": "abc123", "api_base_url": bigcommerce_api.url})
    set_rule(store, "bigcommerce", "cancelled", active=False)
    set_rule(store, "cto", "cancelled", active=False)
    assert post_bigcommerce(client, store, BC_CANCELLED).status_code == 200
    key = create_api_key(store.id, "ERP").plaintext
    response = client.post("/api/v1/events", json=api_event(), headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201 and response.get_json()["notification_ids"] == []
    run_worker()
    assert notifications(store.id) == [] and sandbox_messages(store.id) == []
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2  # both orders are still recorded


@pytest.mark.parametrize("change, field", [
    ({"order": {"id": "X1", "total": "1e30"}}, "total"),
    ({"occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at"),
])
def test_rest_api_refuses_out_of_range_values_with_400(client, store, change, field):
    key = create_api_key(store.id, "ERP").plaintext
    response = client.post("/api/v1/events", json=api_event() | change, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 400 and field in response.get_json()["error"]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_long_idempotency_keys_work(client, store):
    key = create_api_key(store.id, "ERP").plaintext
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "k" * 200}
    assert client.post("/api/v1/events", json=api_event(), headers=headers).status_code == 201
    assert client.post("/api/v1/events", json=api_event(), headers=headers).status_code == 201


def test_absurd_cursors_and_ids_are_400_or_404_never_500(client, store, login_as):
    login_as("owner")
    huge = "9" * 25
    for path in (f"/activity?before={huge}", f"/orders?before={huge}", f"/settings/audit?before={huge}",
                 f"/outbox?before={huge}", f"/orders/{huge}", f"/activity/{huge}"):
        assert client.get(path).status_code in (400, 404), path


def test_a_refund_does_not_replace_the_orders_lines_or_total(client, store):
    from tests.pipeline import post_shopify, shopify_order

    connect_sources(store)
    post_shopify(client, store, "orders/paid", shopify_order(), "wh-r1")
    refund = {"id": 509562969, "order_id": 450789469, "created_at": "2030-01-01T10:00:00Z",
              "processed_at": "2030-01-01T10:00:00Z",
              "refund_line_items": [{"quantity": 1, "line_item": {"title": "IPod Nano - 8gb", "price": "10.00",
                                                                  "quantity": 1}}],
              "transactions": [{"kind": "refund", "status": "success", "amount": "10.00", "currency": "USD"}]}
    assert post_shopify(client, store, "refunds/create", refund, "wh-r2").status_code in (200, 202)
    db.session.expire_all()
    order = db.session.scalar(select(Order))
    assert str(order.total) == "409.94" and len(order.lines) == 3
