import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from webapp.events.normalized import (
    ORDER,
    REFUND,
    REFUND_PROCESSED,
    CustomerData,
    LineItem,
    PayloadError,
    Tracking,
    UnknownTopic,
)
from webapp.events.sources.shopify import normalize_shopify

FIXTURES = Path(__file__).parents[2] / "fixtures" / "shopify"
ORDER_PAYLOAD = json.loads((FIXTURES / "order.json").read_text())["order"]
ORDERS_PAYLOAD = json.loads((FIXTURES / "orders.json").read_text())["orders"][0]

# Shapes as in Shopify's webhook reference, trimmed to what we read.
FULFILLMENT = {
    "id": 123456,
    "order_id": 820982911946154508,
    "status": "success",
    "created_at": "2021-12-31T19:00:00-05:00",
    "updated_at": "2022-01-01T09:30:00-05:00",
    "tracking_company": "UPS",
    "shipment_status": None,
    "email": "jon@example.com",
    "destination": {"first_name": "Steve", "last_name": "Smith", "name": "Steve Smith", "phone": "777-777-7777",
                    "country_code": "CA"},
    "line_items": [{"id": 487817672276298554, "title": "Aviator sunglasses", "name": "Aviator sunglasses",
                    "quantity": 1, "price": "89.99", "sku": "SKU2006-001"}],
    "tracking_number": "1z827wk74630",
    "tracking_numbers": ["1z827wk74630"],
    "tracking_url": "https://www.ups.com/track?tracknum=1z827wk74630",
    "name": "#9999.1",
}
FULFILLMENT_EVENT = {
    "id": 1234567,
    "fulfillment_id": 123456,
    "status": "in_transit",
    "message": "Departed facility",
    "happened_at": "2022-01-01T08:00:00-05:00",
    "created_at": "2022-01-01T08:05:00-05:00",
    "updated_at": "2022-01-01T08:05:00-05:00",
    "order_id": 820982911946154508,
}
REFUND_PAYLOAD = {
    "id": 890088186047892319,
    "order_id": 820982911946154508,
    "created_at": "2022-01-02T10:00:00-05:00",
    "processed_at": "2022-01-02T10:00:01-05:00",
    "note": "Things were damaged",
    "refund_line_items": [{"id": 1, "quantity": 1, "line_item_id": 2, "subtotal": 199.0,
                           "line_item": {"id": 2, "title": "IPod Nano - 8GB", "price": "199.00",
                                         "sku": "IPOD2008PINK"}}],
    "transactions": [
        {"kind": "refund", "status": "success", "amount": "199.00", "currency": "EUR"},
        {"kind": "refund", "status": "failure", "amount": "50.00", "currency": "EUR"},
    ],
}


def order(**changes):
    payload = copy.deepcopy(ORDER_PAYLOAD)
    payload.update(changes)
    return payload


def test_order_fixture_becomes_the_order_with_its_customer_lines_and_total():
    event = normalize_shopify("orders/create", order())
    assert (event.source, event.kind, event.status, event.topic) == ("shopify", ORDER, "initiated", "orders/create")
    assert (event.external_id, event.number) == ("450789469", "#1001")
    assert event.customer == CustomerData(external_id="207119551", name="Bob Norman",
                                          email="bob.norman@hostmail.com", phone="555-625-1199", country="US")
    assert event.lines[0] == LineItem("IPod Nano - 8gb", 1, Decimal("199.00"), "IPOD2008GREEN")
    assert len(event.lines) == 3
    assert (event.total, event.currency, event.note) == (Decimal("409.94"), "USD", None)


def test_order_time_with_offset_becomes_aware_utc():
    event = normalize_shopify("orders/create", order())
    assert event.occurred_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC


def test_orders_list_fixture_takes_the_order_phone_first():
    event = normalize_shopify("orders/create", copy.deepcopy(ORDERS_PAYLOAD))
    assert event.customer.phone == "+557734881234"
    assert (event.number, event.total) == ("#1001", Decimal("598.94"))


@pytest.mark.parametrize(("topic", "status"), [
    ("orders/create", "initiated"),
    ("orders/paid", "sent_for_processing"),
    ("orders/cancelled", "cancelled"),
    ("orders/fulfilled", "ready"),
    ("orders/partially_fulfilled", "processing"),
])
def test_order_webhook_topic_sets_the_status(topic, status):
    event = normalize_shopify(topic, order())
    assert (event.status, event.topic) == (status, topic)


def test_cancelled_order_webhook_maps_to_cancelled():
    event = normalize_shopify("orders/cancelled", order(cancelled_at="2008-01-10T12:00:00-05:00"))
    assert event.status == "cancelled"


@pytest.mark.parametrize(("changes", "status"), [
    ({}, "initiated"),  # the fixture is authorized, not yet paid
    ({"cancelled_at": "2008-01-11T11:00:00-05:00"}, "cancelled"),
    ({"financial_status": "refunded"}, "returned"),
    ({"financial_status": "paid", "fulfillment_status": "fulfilled"}, "ready"),
    ({"financial_status": "paid", "fulfillment_status": "partial"}, "processing"),
    ({"financial_status": "paid"}, "sent_for_processing"),
])
def test_order_updated_webhook_status_comes_from_the_order_state(changes, status):
    assert normalize_shopify("orders/updated", order(**changes)).status == status


def test_partially_refunded_order_update_stays_paid():
    assert normalize_shopify("orders/updated", copy.deepcopy(ORDERS_PAYLOAD)).status == "sent_for_processing"


def test_order_number_falls_back_to_order_number():
    assert normalize_shopify("orders/create", order(name=None)).number == "1001"


def test_guest_order_takes_name_from_billing_and_phone_from_shipping():
    payload = order(customer=None, email="guest@example.com", customer_locale="fr-CA")
    payload["billing_address"].update(phone=None, name=None, first_name="Ana", last_name="Lima", country_code="BR")
    payload["shipping_address"]["phone"] = "+5511999999999"
    assert normalize_shopify("orders/create", payload).customer == CustomerData(
        name="Ana Lima", email="guest@example.com", phone="+5511999999999", country="BR", locale="fr-CA")


def test_order_tracking_comes_from_last_fulfillment_with_a_tracking_number():
    shipped = {"status": "success", "tracking_company": "USPS", "tracking_number": "9400100000000000000000",
               "tracking_url": "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000"}
    payload = order(fulfillments=[shipped, {"status": "success", "tracking_number": None}])
    assert normalize_shopify("orders/fulfilled", payload).tracking == Tracking(
        "USPS", "9400100000000000000000", shipped["tracking_url"])


def test_failed_fulfillment_tracking_is_not_offered_to_the_customer():
    # The fixture's only fulfillment has status "failure".
    assert normalize_shopify("orders/create", order()).tracking is None


def test_order_note_is_kept():
    assert normalize_shopify("orders/create", order(note="Leave at the door")).note == "Leave at the door"


def test_fulfillment_webhook_is_ready_with_tracking_and_destination_customer():
    event = normalize_shopify("fulfillments/create", copy.deepcopy(FULFILLMENT))
    assert (event.kind, event.status, event.topic) == (ORDER, "ready", "fulfillments/create")
    assert (event.external_id, event.number) == ("820982911946154508", "#9999")
    assert event.customer == CustomerData(name="Steve Smith", email="jon@example.com", phone="777-777-7777",
                                          country="CA")
    assert event.tracking == Tracking("UPS", "1z827wk74630", "https://www.ups.com/track?tracknum=1z827wk74630")
    assert event.lines == (LineItem("Aviator sunglasses", 1, Decimal("89.99"), "SKU2006-001"),)
    assert event.occurred_at == datetime(2022, 1, 1, 14, 30, tzinfo=UTC)


def test_fulfillment_update_with_delivered_shipment_is_delivered():
    payload = {**FULFILLMENT, "shipment_status": "delivered"}
    assert normalize_shopify("fulfillments/update", payload).status == "delivered"


def test_fulfillment_update_in_transit_is_ready():
    payload = {**FULFILLMENT, "shipment_status": "in_transit"}
    assert normalize_shopify("fulfillments/update", payload).status == "ready"


def test_cancelled_fulfillment_changes_nothing():
    assert normalize_shopify("fulfillments/update", {**FULFILLMENT, "status": "cancelled"}) is None


def test_fulfillment_without_name_has_empty_number():
    payload = {key: value for key, value in FULFILLMENT.items() if key != "name"}
    assert normalize_shopify("fulfillments/create", payload).number == ""


def test_fulfillment_event_in_transit_is_ready_for_the_order():
    event = normalize_shopify("fulfillment_events/create", dict(FULFILLMENT_EVENT))
    assert (event.external_id, event.status, event.topic) == ("820982911946154508", "ready",
                                                               "fulfillment_events/create")
    assert event.occurred_at == datetime(2022, 1, 1, 13, 5, tzinfo=UTC)
    assert (event.number, event.tracking, event.customer) == ("", None, CustomerData())


def test_fulfillment_event_delivered_is_delivered():
    event = normalize_shopify("fulfillment_events/create", {**FULFILLMENT_EVENT, "status": "delivered"})
    assert event.status == "delivered"


def test_fulfillment_event_failure_changes_nothing():
    assert normalize_shopify("fulfillment_events/create", {**FULFILLMENT_EVENT, "status": "failure"}) is None


def test_refund_webhook_is_a_refund_of_the_successful_transactions():
    event = normalize_shopify("refunds/create", copy.deepcopy(REFUND_PAYLOAD))
    assert (event.kind, event.status, event.external_id) == (REFUND, REFUND_PROCESSED, "820982911946154508")
    assert (event.total, event.currency, event.note) == (Decimal("199.00"), "EUR", "Things were damaged")
    assert event.lines == (LineItem("IPod Nano - 8GB", 1, Decimal("199.00"), "IPOD2008PINK"),)
    assert event.occurred_at == datetime(2022, 1, 2, 15, 0, 1, tzinfo=UTC)


def test_unknown_topic_is_refused_naming_the_handled_ones():
    with pytest.raises(UnknownTopic, match=r"Shopify topic 'products/update' is not handled; handled topics: "
                                           r"orders/create, orders/updated"):
        normalize_shopify("products/update", {"id": 1})


def test_body_that_is_not_an_object_is_refused():
    with pytest.raises(PayloadError, match=r"body: a Shopify orders/create webhook body must be a JSON object, "
                                           r"got list"):
        normalize_shopify("orders/create", [])


def test_wrapped_order_is_refused_with_a_hint_to_unwrap_it():
    with pytest.raises(PayloadError, match=r'id: missing or not an id; .* not wrapped in \{"order": ...\}'):
        normalize_shopify("orders/create", {"order": order()})


def test_fulfillment_without_order_id_is_refused():
    payload = {key: value for key, value in FULFILLMENT.items() if key != "order_id"}
    with pytest.raises(PayloadError, match=r"order_id: missing or not an id; a Shopify fulfillments/create"):
        normalize_shopify("fulfillments/create", payload)


def test_fulfillment_event_without_any_time_is_refused():
    payload = {"order_id": 1, "status": "delivered"}
    with pytest.raises(PayloadError, match=r"updated_at / happened_at / processed_at / created_at: missing"):
        normalize_shopify("fulfillment_events/create", payload)


def test_order_with_bad_time_is_refused_naming_the_field():
    with pytest.raises(PayloadError, match=r"updated_at: must be an ISO 8601 date-time"):
        normalize_shopify("orders/create", order(updated_at="yesterday"))


def test_line_with_bad_price_is_refused_naming_the_line():
    payload = order()
    payload["line_items"][1]["price"] = "free"
    with pytest.raises(PayloadError, match=r"line_items\[1\]\.price: must be a number or a numeric string"):
        normalize_shopify("orders/create", payload)
