"""Shopify webhook → rules → outbox → real RQ worker → sandbox provider, end to end."""
from sqlalchemy import func, select

from tests.pipeline import (
    connect_sources,
    notifications,
    post_shopify,
    run_worker,
    sandbox_messages,
    set_rule,
    shopify_order,
)
from webapp.events.models import InboundEvent
from webapp.extensions import db
from webapp.orders.models import Order


def test_cancelled_webhook_delivered_three_times_sends_one_email_and_one_sms(client, store):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("email", "sms"))
    payload = shopify_order(cancelled_at="2008-01-10T12:00:00-05:00", updated_at="2008-01-10T12:00:00-05:00")
    for _ in range(3):
        response = post_shopify(client, store, "orders/cancelled", payload, webhook_id="wh-1")
        assert response.status_code == 200
    run_worker()

    email, sms = sandbox_messages(store.id)
    assert (email.channel, email.recipient) == ("email", "bob.norman@hostmail.com")
    assert email.subject == "Order #1001 was cancelled"
    assert (sms.channel, sms.recipient) == ("sms", "+15556251199")
    assert "#1001 was cancelled" in sms.body
    rows = notifications(store.id)
    assert [(n.channel, n.status, n.provider) for n in rows] == [
        ("email", "sent", "sandbox"), ("sms", "sent", "sandbox")]
    assert all(n.priority == "critical" for n in rows)
    assert [e.kind for e in rows[0].events][:2] == ["planned", "queued"] and rows[0].events[-1].kind == "sent"


def test_other_topics_for_the_same_cancellation_do_not_send_again(client, store):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    payload = shopify_order(cancelled_at="2008-01-10T12:00:00-05:00", updated_at="2008-01-10T12:00:00-05:00")
    assert post_shopify(client, store, "orders/cancelled", payload, "wh-a").status_code == 200
    assert post_shopify(client, store, "orders/updated", payload, "wh-b").status_code == 200
    run_worker()
    assert len(sandbox_messages(store.id)) == 2


def test_inactive_rule_sends_nothing_but_the_order_is_recorded(client, store):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", active=False)
    response = post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-2")
    assert response.status_code == 200
    run_worker()
    assert sandbox_messages(store.id) == [] and notifications(store.id) == []
    order = db.session.scalar(select(Order).where(Order.store_id == store.id))
    assert order.status == "cancelled" and order.number == "#1001"


def test_bad_signature_is_refused_and_nothing_is_stored(client, store):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    response = post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-3", secret="x" * 30)
    assert response.status_code == 401
    unsigned = client.post(f"/webhooks/shopify/{store.slug}", data=b"{}",
                           headers={"X-Shopify-Topic": "orders/cancelled"})
    assert unsigned.status_code == 401
    assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == 0
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_store_without_a_configured_secret_refuses_webhooks(client, store):
    assert post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-4").status_code == 401


def test_unknown_store_is_404(client, store):
    connect_sources(store)
    response = client.post("/webhooks/shopify/no-such-store", data=b"{}")
    assert response.status_code == 404


def test_malformed_json_is_400_and_unknown_topic_is_202_with_nothing_stored(client, store):
    from tests.pipeline import SHOPIFY_SECRET
    from webapp.events.signatures import hmac_sha256_base64

    connect_sources(store)
    body = b"{not json"
    response = client.post(f"/webhooks/shopify/{store.slug}", data=body, headers={
        "X-Shopify-Topic": "orders/cancelled", "X-Shopify-Webhook-Id": "x",
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(SHOPIFY_SECRET, body)})
    assert response.status_code == 400 and "JSON" in response.get_json()["reason"]
    assert post_shopify(client, store, "carts/update", {"id": 1}, "wh-5").status_code == 202
    assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == 0


def test_oversized_body_is_refused(client, store):
    connect_sources(store)
    response = client.post(f"/webhooks/shopify/{store.slug}", data=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413


def test_late_older_event_does_not_move_the_order_backwards(client, store):
    connect_sources(store)
    set_rule(store, "shopify", "processing")
    set_rule(store, "shopify", "cancelled")
    cancelled = shopify_order(updated_at="2024-05-02T10:00:00Z", cancelled_at="2024-05-02T10:00:00Z")
    post_shopify(client, store, "orders/cancelled", cancelled, "new")
    partially = shopify_order(updated_at="2024-05-01T10:00:00Z")
    response = post_shopify(client, store, "orders/partially_fulfilled", partially, "old")
    assert response.get_json()["status"] == "stale"
    run_worker()
    order = db.session.scalar(select(Order))
    assert order.status == "cancelled"
    assert [n.message_type for n in notifications(store.id)] == ["order.cancelled", "order.cancelled"]


def test_events_tied_in_time_never_move_the_order_back_or_notify_twice(client, store):
    """Shopify sends orders/updated (fulfilled), orders/paid and orders/fulfilled for one change, all
    with the same updated_at: the order stays ready and the customer hears "ready" once."""
    connect_sources(store)
    set_rule(store, "shopify", "sent_for_processing")
    set_rule(store, "shopify", "ready")
    same = "2024-05-01T10:00:00Z"
    post_shopify(client, store, "orders/updated", shopify_order(updated_at=same, fulfillment_status="fulfilled",
                                                                financial_status="paid"), "wh-1")
    paid = post_shopify(client, store, "orders/paid", shopify_order(updated_at=same, financial_status="paid"), "wh-2")
    assert paid.get_json()["status"] == "stale"
    post_shopify(client, store, "orders/fulfilled", shopify_order(updated_at=same, fulfillment_status="fulfilled"),
                 "wh-3")
    run_worker()
    assert db.session.scalar(select(Order)).status == "ready"
    assert [n.message_type for n in notifications(store.id)] == ["order.ready", "order.ready"]  # email + sms
    # A later report of the same status moves its time on: an event from in between cannot win.
    post_shopify(client, store, "orders/updated", shopify_order(updated_at="2024-05-01T12:00:00Z",
                                                                fulfillment_status="fulfilled"), "wh-4")
    late = post_shopify(client, store, "orders/paid", shopify_order(updated_at="2024-05-01T11:00:00Z",
                                                                    financial_status="paid"), "wh-5")
    assert late.get_json()["status"] == "stale"
    assert len(notifications(store.id)) == 2


def test_customer_without_phone_gets_email_and_a_recorded_sms_skip(client, store):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    payload = shopify_order()
    payload["billing_address"]["phone"] = None
    payload["shipping_address"]["phone"] = None
    payload["phone"] = None
    post_shopify(client, store, "orders/cancelled", payload, "wh-6")
    run_worker()
    email, sms = notifications(store.id)
    assert email.status == "sent"
    assert sms.status == "skipped" and sms.error == "customer has no phone for sms"
    assert [m.channel for m in sandbox_messages(store.id)] == ["email"]


def test_sent_notifications_are_on_the_activity_page_and_in_the_api(client, store, login_as):
    from webapp.events.api_keys import create_api_key

    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-7")
    run_worker()
    key = create_api_key(store.id, "support tool").plaintext
    response = client.get("/api/v1/notifications?channel=sms", headers={"Authorization": f"Bearer {key}"})
    [sms] = response.get_json()["notifications"]
    assert (sms["status"], sms["recipient"], sms["order_number"]) == ("sent", "+15556251199", "#1001")
    assert sms["provider"] == "sandbox" and "Shopify · Cancelled" in sms["reason"]
    assert client.get("/api/v1/notifications?status=bogus", headers={"Authorization": f"Bearer {key}"}
                      ).status_code == 400
    assert client.get("/api/v1/notifications").status_code == 401

    login_as("support")
    html = client.get("/activity").get_data(as_text=True)
    assert "bob.norman@hostmail.com" in html and "+15556251199" in html
    detail = client.get(f"/activity/{sms['id']}").get_data(as_text=True)
    assert "#1001 was cancelled" in detail and "sandbox" in detail
