"""Payments, refunds and carriers' shipping news from every source go out through the store's
routing, in the event's own transaction, once however often the event is told."""
import copy

from sqlalchemy import select

from tests.pipeline import (
    connect_sources,
    fixture,
    notifications,
    post_shopify,
    post_woocommerce,
    run_worker,
    sandbox_messages,
    set_rule,
    shopify_order,
)
from webapp.customers.models import Customer, CustomerDevice
from webapp.events.api_keys import create_api_key
from webapp.events.models import InboundEvent
from webapp.extensions import db
from webapp.notifications.route_store import save_route

ORDER_ID = 450789469  # the Shopify fixture's order
TRANSACTION = {"id": 389404469, "order_id": ORDER_ID, "kind": "sale", "gateway": "bogus", "status": "failure",
               "message": "Your card was declined.", "created_at": "2024-05-01T10:00:00Z", "amount": "409.94",
               "currency": "USD", "payment_details": {"credit_card_company": "Visa",
                                                      "credit_card_number": "•••• •••• •••• 4242"}}
SCAN = {"id": 944956395, "fulfillment_id": 255858046, "order_id": ORDER_ID, "status": "out_for_delivery",
        "message": None, "happened_at": "2024-05-03T07:00:00Z", "estimated_delivery_at": "2024-05-03T18:00:00Z"}


def shopify_store(client, store):
    """The fixture order, known and shipped (ready), before the events under test."""
    connect_sources(store)
    post_shopify(client, store, "orders/fulfilled", shopify_order(updated_at="2024-05-01T09:00:00Z"), "wh-order")
    return store


def test_failed_payment_sends_payment_failed_by_the_default_route_once(client, store):
    shopify_store(client, store)
    for _ in range(2):  # Shopify retries with the same webhook id
        response = post_shopify(client, store, "order_transactions/create", TRANSACTION, "wh-tx")
        assert response.status_code == 200
    # The same transaction told again under another webhook id (a second subscription) is still one.
    post_shopify(client, store, "order_transactions/create", TRANSACTION, "wh-tx-other")
    run_worker()
    email, sms = sandbox_messages(store.id)
    assert email.subject == "Payment for order #1001 did not go through"
    assert "Your card was declined." in email.body and email.recipient == "bob.norman@hostmail.com"
    assert sms.recipient == "+15556251199"
    rows = notifications(store.id)
    assert [(n.message_type, n.channel, n.status, n.priority) for n in rows] == [
        ("payment.failed", "email", "sent", "critical"), ("payment.failed", "sms", "sent", "critical")]
    assert "Shopify · Payment failed (order_transactions/create) · routing: all of email + sms" in rows[0].reason


def test_routing_change_applies_to_the_next_payment_event(client, store):
    shopify_store(client, store)
    save_route(store, None, "payment.confirmed", "all", ["sms"])
    post_shopify(client, store, "order_transactions/create", {**TRANSACTION, "status": "success"}, "wh-ok")
    run_worker()
    [sms] = sandbox_messages(store.id)
    assert sms.channel == "sms" and "409.94" in sms.body and "#1001" in sms.body


def test_a_second_failed_transaction_is_news_again(client, store):
    shopify_store(client, store)
    post_shopify(client, store, "order_transactions/create", TRANSACTION, "wh-1")
    post_shopify(client, store, "order_transactions/create", {**TRANSACTION, "id": 2}, "wh-2")
    assert len(notifications(store.id)) == 4


def test_refund_sends_refund_processed_with_the_amount(client, store):
    shopify_store(client, store)
    refund = {"id": 509562969, "order_id": ORDER_ID, "created_at": "2024-05-04T10:00:00Z", "note": "Damaged",
              "transactions": [{"kind": "refund", "status": "success", "amount": "41.94", "currency": "USD",
                                "gateway": "bogus"}]}
    post_shopify(client, store, "refunds/create", refund, "wh-refund")
    post_shopify(client, store, "refunds/create", refund, "wh-refund")
    run_worker()
    [email] = sandbox_messages(store.id)
    assert email.subject and "41.94" in email.body
    assert [n.message_type for n in notifications(store.id)] == ["refund.processed"]


def test_out_for_delivery_scan_goes_to_the_first_reachable_channel_once(client, store):
    shopify_store(client, store)
    response = post_shopify(client, store, "fulfillment_events/create", SCAN, "wh-scan")
    body = response.get_json()
    assert body["status"] == "processed" and body["notifications"] == 1
    assert "order is already ready; 1 routed notification(s) planned" == body["detail"]
    # The same news by the fulfillment's own topic, and the scan delivered again: nothing more.
    fulfillment = {"id": 255858046, "order_id": ORDER_ID, "status": "success", "shipment_status": "out_for_delivery",
                   "updated_at": "2024-05-03T07:01:00Z", "email": "bob.norman@hostmail.com"}
    post_shopify(client, store, "fulfillments/update", fulfillment, "wh-fulfillment")
    post_shopify(client, store, "fulfillment_events/create", SCAN, "wh-scan")
    run_worker()
    [sms] = sandbox_messages(store.id)  # no app install: push is skipped for SMS, email is not needed
    assert sms.channel == "sms" and "out for delivery" in sms.body
    [row] = notifications(store.id)
    assert (row.message_type, row.channel) == ("shipping.out_for_delivery", "sms")


def test_in_transit_scan_is_a_shipping_update_by_push_for_a_customer_with_the_app(client, store):
    shopify_store(client, store)
    bob = db.session.scalar(select(Customer).where(Customer.email == "bob.norman@hostmail.com"))
    db.session.add(CustomerDevice(store_id=store.id, customer_id=bob.id, platform="fcm", token="tok-bob"))
    db.session.commit()
    post_shopify(client, store, "fulfillment_events/create",
                 {**SCAN, "id": 2, "status": "in_transit", "message": "Departed Louisville hub"}, "wh-transit")
    [row] = notifications(store.id)
    assert (row.message_type, row.channel, row.recipient) == ("shipping.update", "push", "fcm:tok-bob")
    assert "Departed Louisville hub" in row.body


def test_a_label_scan_or_a_stale_scan_sends_nothing(client, store):
    shopify_store(client, store)
    post_shopify(client, store, "fulfillment_events/create", {**SCAN, "status": "label_printed"}, "wh-label")
    post_shopify(client, store, "fulfillments/update", {"id": 1, "order_id": ORDER_ID, "status": "success",
                                                        "shipment_status": "delivered",
                                                        "updated_at": "2024-05-05T10:00:00Z"}, "wh-delivered")
    late = post_shopify(client, store, "fulfillment_events/create", {**SCAN, "id": 3, "status": "in_transit"},
                        "wh-late")
    assert late.get_json()["status"] == "stale"
    assert notifications(store.id) == []


def woo_order(status: str, modified: str = "2024-03-01T10:00:00") -> dict:
    order = copy.deepcopy(fixture("woocommerce/order-processing.json"))
    order.update(status=status, date_modified_gmt=modified)
    order["billing"]["phone"] = "+1 415 555 0100"
    return order


def test_woocommerce_failed_order_sends_payment_failed_once_across_edits(client, store):
    connect_sources(store)
    post_woocommerce(client, store, "order.updated", woo_order("failed"), delivery="1")
    post_woocommerce(client, store, "order.updated", woo_order("failed"), delivery="2")  # a retry
    edited = woo_order("failed", "2024-03-01T11:00:00")  # the merchant edited the order
    post_woocommerce(client, store, "order.updated", edited, delivery="3")
    run_worker()
    email, sms = sandbox_messages(store.id)
    assert email.recipient == "john.doe@example.com" and sms.recipient == "+14155550100"
    assert "did not go through" in email.subject
    assert {n.message_type for n in notifications(store.id)} == {"payment.failed"}


def test_api_payment_and_shipping_events_are_routed(client, store):
    key = create_api_key(store.id, "ERP").plaintext
    headers = {"Authorization": f"Bearer {key}"}
    order = {"id": "A-9", "number": "A-9", "total": "20.00", "currency": "EUR",
             "customer": {"email": "ines@example.pt", "phone": "+351912345678", "locale": "pt"}}
    confirmed = client.post("/api/v1/events", headers={**headers, "Idempotency-Key": "p1"},
                            json={"type": "payment.confirmed", "order": order, "payment": {"method": "MB Way"}})
    assert confirmed.status_code == 201 and len(confirmed.get_json()["notification_ids"]) == 1
    shipped = client.post("/api/v1/events", headers={**headers, "Idempotency-Key": "s1"},
                          json={"type": "shipping.update", "order": order,
                                "shipment": {"status": "in_transit", "id": "PKG-1"}})
    assert shipped.status_code == 201
    rows = notifications(store.id)
    assert [(n.message_type, n.channel) for n in rows] == [("payment.confirmed", "email"), ("shipping.update", "sms")]
    assert rows[0].locale == "pt" and "20" in rows[0].body


def test_api_scans_without_a_shipment_id_send_each_carrier_status_once(client, store):
    headers = {"Authorization": f"Bearer {create_api_key(store.id, 'ERP').plaintext}"}
    order = {"id": "A-9", "customer": {"email": "ines@example.pt", "phone": "+351912345678"}}

    def scan(status: str, at: str, key: str | None = None):
        response = client.post("/api/v1/events", headers={**headers, **({"Idempotency-Key": key} if key else {})},
                               json={"type": "shipping.update", "order": order, "occurred_at": at,
                                     "shipment": {"status": status}})
        assert response.status_code == 201

    scan("in_transit", "2024-05-02T08:00:00Z", "scan-1")
    scan("in_transit", "2024-05-02T08:00:00Z")  # the same scan again, without its Idempotency-Key
    scan("in_transit", "2024-05-02T14:30:00Z")  # the next hub: still in transit
    scan("out_for_delivery", "2024-05-03T07:00:00Z")  # news
    scan("out_for_delivery", "2024-05-03T07:05:00Z")
    assert [n.message_type for n in notifications(store.id)] == ["shipping.update", "shipping.out_for_delivery"]


def test_rules_and_routing_together_in_one_commit(client, store):
    """A first scan that ships the order sends the rule's "ready" and the routed out-for-delivery."""
    connect_sources(store)
    set_rule(store, "shopify", "ready", ("email",))
    post_shopify(client, store, "orders/paid", shopify_order(updated_at="2024-05-01T09:00:00Z",
                                                             financial_status="paid"), "wh-paid")
    post_shopify(client, store, "fulfillment_events/create", SCAN, "wh-scan")
    assert [n.message_type for n in notifications(store.id)] == ["order.ready", "shipping.out_for_delivery"]
    inbound = db.session.scalars(select(InboundEvent).order_by(InboundEvent.id)).all()[-1]
    assert inbound.detail == "1 notification(s) planned; 1 routed notification(s) planned"


def test_first_reachable_with_no_channel_reachable_records_why_on_each(client, store):
    connect_sources(store)
    order = shopify_order(updated_at="2024-05-01T09:00:00Z", phone=None)
    for address in ("billing_address", "shipping_address"):
        order[address]["phone"] = None
    post_shopify(client, store, "orders/fulfilled", order, "wh-order")
    save_route(store, None, "shipping.out_for_delivery", "first", ["push", "sms"])
    post_shopify(client, store, "fulfillment_events/create", SCAN, "wh-scan")
    push, sms = notifications(store.id)
    assert (push.status, push.error) == ("skipped", "customer has no push_token for push")
    assert (sms.status, sms.error) == ("skipped", "customer has no phone for sms")
