import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from webapp.events.normalized import (
    ORDER,
    PAYMENT,
    PAYMENT_FAILED,
    REFUND,
    REFUND_PROCESSED,
    CustomerData,
    LineItem,
    PayloadError,
    UnknownTopic,
)
from webapp.events.sources.bigcommerce import normalize_bigcommerce_order, parse_bigcommerce_webhook

STATUS_UPDATED = {
    "scope": "store/order/statusUpdated",
    "store_id": "1025646",
    "data": {"type": "order", "id": 250, "status": {"previous_status_id": 0, "new_status_id": 11}},
    "hash": "c1b5a9d2a7f4b7e0b0b0d3f6a7c3e1f2a9b8c7d6",
    "created_at": 1561482670,
    "producer": "stores/abc123",
}
CREATED = {
    "scope": "store/order/created",
    "store_id": "1025646",
    "data": {"type": "order", "id": 250},
    "hash": "d2c6b0e3b8a5c8f1c1c1e4a7b8d4f2a3b0c9d8e7",
    "created_at": 1561482600,
    "producer": "stores/abc123",
}
# A V2 order as GET /v2/orders/250 returns it, trimmed to the fields we read plus a few we ignore.
ORDER_V2 = {
    "id": 250,
    "customer_id": 11,
    "date_created": "Tue, 20 Nov 2012 00:00:00 +0000",
    "date_modified": "Wed, 21 Nov 2012 15:30:00 +0100",
    "status_id": 11,
    "status": "Awaiting Fulfillment",
    "subtotal_inc_tax": "225.0000",
    "total_inc_tax": "225.0000",
    "currency_code": "EUR",
    "customer_message": "Please ring twice",
    "customer_locale": "fr",
    "billing_address": {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com",
                        "phone": "06 12 34 56 78", "country": "France", "country_iso2": "FR"},
    "products": {"url": "https://api.bigcommerce.com/stores/abc123/v2/orders/250/products",
                 "resource": "/orders/250/products"},
}


def order(**changes):
    payload = copy.deepcopy(ORDER_V2)
    payload.update(changes)
    return payload


def test_status_updated_webhook_gives_scope_order_id_and_new_status():
    assert parse_bigcommerce_webhook(STATUS_UPDATED) == ("store/order/statusUpdated", "250", 11)


def test_created_webhook_has_no_status():
    assert parse_bigcommerce_webhook(CREATED) == ("store/order/created", "250", None)


def test_other_scopes_are_refused():
    with pytest.raises(UnknownTopic, match=r"BigCommerce scope 'store/product/updated' is not handled"):
        parse_bigcommerce_webhook({**CREATED, "scope": "store/product/updated"})


@pytest.mark.parametrize(("payload", "message"), [
    ([], r"^body: a BigCommerce webhook body must be a JSON object, got list"),
    ({"data": {"id": 1}}, r"^scope: missing"),
    ({"scope": "store/order/created"}, r"^data: missing or not an object"),
    ({"scope": "store/order/created", "data": {"type": "order"}}, r"^data\.id: missing or not an id"),
    ({"scope": "store/order/statusUpdated", "data": {"id": 250}}, r"^data\.status\.new_status_id: must be"),
    ({"scope": "store/order/statusUpdated", "data": {"id": 250, "status": {"new_status_id": "11"}}},
     r"^data\.status\.new_status_id: must be a BigCommerce status id"),
])
def test_malformed_webhook_is_refused_naming_the_field(payload, message):
    with pytest.raises(PayloadError, match=message):
        parse_bigcommerce_webhook(payload)


def test_v2_order_becomes_the_event_with_its_billing_customer():
    event = normalize_bigcommerce_order("store/order/statusUpdated", order(), 11)
    assert (event.source, event.kind, event.status) == ("bigcommerce", ORDER, "sent_for_processing")
    assert (event.external_id, event.number, event.topic) == ("250", "250", "store/order/statusUpdated")
    assert event.customer == CustomerData(external_id="11", name="Jane Doe", email="jane@example.com",
                                          phone="06 12 34 56 78", country="FR", locale="fr")
    assert (event.total, event.currency, event.note) == (Decimal("225.0000"), "EUR", "Please ring twice")
    assert event.lines == ()  # V2 only links to the products


def test_rfc2822_modified_date_becomes_aware_utc():
    event = normalize_bigcommerce_order("store/order/created", order())
    assert event.occurred_at == datetime(2012, 11, 21, 14, 30, tzinfo=UTC)


def test_webhook_status_wins_over_the_fetched_order_status():
    assert normalize_bigcommerce_order("store/order/statusUpdated", order(status_id=2), 11).status == \
        "sent_for_processing"


def test_order_status_is_used_when_webhook_gives_none():
    assert normalize_bigcommerce_order("store/order/created", order(status_id=1)).status == "initiated"


@pytest.mark.parametrize(("status_id", "expected"), [
    (1, (ORDER, "initiated")),
    (7, (ORDER, "initiated")),
    (12, (ORDER, "initiated")),
    (11, (ORDER, "sent_for_processing")),
    (9, (ORDER, "processing")),
    (3, (ORDER, "processing")),
    (8, (ORDER, "ready")),
    (2, (ORDER, "ready")),
    (10, (ORDER, "delivered")),
    (5, (ORDER, "cancelled")),
    (4, (ORDER, "returned")),
    (14, (REFUND, REFUND_PROCESSED)),
    (6, (PAYMENT, PAYMENT_FAILED)),
])
def test_status_id_maps_to_canonical(status_id, expected):
    event = normalize_bigcommerce_order("store/order/statusUpdated", order(), status_id)
    assert (event.kind, event.status) == expected


@pytest.mark.parametrize("status_id", [0, 13, 42])
def test_incomplete_disputed_and_unknown_statuses_change_nothing(status_id):
    assert normalize_bigcommerce_order("store/order/statusUpdated", order(), status_id) is None


def test_guest_order_without_locale_has_no_customer_id_or_locale():
    payload = order(customer_id=0)
    del payload["customer_locale"]
    customer = normalize_bigcommerce_order("store/order/created", payload).customer
    assert (customer.external_id, customer.locale) == (None, None)


def test_embedded_products_become_lines():
    products = [{"name": "Orbit Terrarium - Large", "quantity": 2, "price_inc_tax": "109.0000", "sku": "OTL"}]
    event = normalize_bigcommerce_order("store/order/created", order(products=products))
    assert event.lines == (LineItem("Orbit Terrarium - Large", 2, Decimal("109.0000"), "OTL"),)


def test_order_with_unknown_scope_is_refused():
    with pytest.raises(UnknownTopic, match=r"'store/cart/created' is not handled"):
        normalize_bigcommerce_order("store/cart/created", order())


@pytest.mark.parametrize(("changes", "message"), [
    ({"id": None}, r"^id: missing or not an id; expected the order object from GET /v2/orders/\{id\}"),
    ({"status_id": None}, r"^status_id: must be a BigCommerce status id"),
    ({"date_modified": "2012-11-21"}, r"^date_modified: must be an RFC 2822 date"),
    ({"date_modified": None, "date_created": None}, r"^date_modified: missing"),
    ({"total_inc_tax": "n/a"}, r"^total_inc_tax: must be a number or a numeric string"),
])
def test_malformed_order_is_refused_naming_the_field(changes, message):
    with pytest.raises(PayloadError, match=message):
        normalize_bigcommerce_order("store/order/created", order(**changes))
