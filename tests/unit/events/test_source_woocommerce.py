import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from webapp.events.normalized import ORDER, PAYMENT, PAYMENT_FAILED, CustomerData, LineItem, PayloadError, UnknownTopic
from webapp.events.sources.woocommerce import normalize_woocommerce

FIXTURES = Path(__file__).parents[2] / "fixtures" / "woocommerce"


def fixture(name, **changes):
    payload = json.loads((FIXTURES / name).read_text())
    payload.update(changes)
    return payload


def test_completed_order_is_delivered():
    event = normalize_woocommerce("order.updated", fixture("order-completed.json"))
    assert (event.source, event.kind, event.status, event.topic) == ("woocommerce", ORDER, "delivered",
                                                                     "order.updated")
    assert (event.external_id, event.number) == ("727", "727")
    assert event.occurred_at == datetime(2017, 3, 22, 19, 30, 35, tzinfo=UTC)


def test_processing_order_is_processing():
    event = normalize_woocommerce("order.updated", fixture("order-processing.json"))
    assert event.status == "processing"
    assert event.occurred_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)


def test_order_carries_billing_customer_lines_and_total():
    event = normalize_woocommerce("order.created", fixture("order-processing.json"))
    assert event.customer == CustomerData(name="John Doe", email="john.doe@example.com", phone="(555) 555-5555",
                                          country="US")
    assert event.lines == (
        LineItem("Woo Single #1", 2, Decimal("3"), None),
        LineItem("Ship Your Idea \u2013 Color: Black, Size: M Test", 1, Decimal("12"), "Bar3"),
    )
    assert (event.total, event.currency, event.note, event.tracking) == (Decimal("29.35"), "USD", None, None)


def test_registered_customer_id_and_note_are_kept():
    event = normalize_woocommerce("order.created", fixture("order-processing.json", customer_id=42,
                                                           customer_note="Gift wrap please"))
    assert (event.customer.external_id, event.note) == ("42", "Gift wrap please")


@pytest.mark.parametrize(("status", "expected"), [
    ("pending", (ORDER, "initiated")),
    ("on-hold", (ORDER, "initiated")),
    ("processing", (ORDER, "processing")),
    ("completed", (ORDER, "delivered")),
    ("cancelled", (ORDER, "cancelled")),
    ("refunded", (ORDER, "returned")),
    ("failed", (PAYMENT, PAYMENT_FAILED)),
])
def test_order_status_maps_to_canonical(status, expected):
    event = normalize_woocommerce("order.updated", fixture("order-processing.json", status=status))
    assert (event.kind, event.status) == expected


@pytest.mark.parametrize("status", ["checkout-draft", "awaiting-stock"])
def test_draft_and_custom_statuses_change_nothing(status):
    assert normalize_woocommerce("order.updated", fixture("order-processing.json", status=status)) is None


def test_other_topics_are_refused():
    with pytest.raises(UnknownTopic, match=r"WooCommerce topic 'product.created' is not handled; handled topics: "
                                           r"order.created, order.updated"):
        normalize_woocommerce("product.created", {"id": 1})


def test_order_without_id_is_refused():
    with pytest.raises(PayloadError, match=r"^id: missing or not an id"):
        normalize_woocommerce("order.created", fixture("order-processing.json", id=None))


def test_order_without_status_is_refused():
    with pytest.raises(PayloadError, match=r"^status: missing"):
        normalize_woocommerce("order.created", fixture("order-processing.json", status=None))


def test_order_without_gmt_times_is_refused():
    payload = fixture("order-processing.json", date_modified_gmt=None, date_created_gmt=None)
    with pytest.raises(PayloadError, match=r"^date_modified_gmt / date_created_gmt: missing"):
        normalize_woocommerce("order.created", payload)


def test_body_that_is_not_an_object_is_refused():
    with pytest.raises(PayloadError, match=r"^body: a WooCommerce order.created webhook body must be a JSON object"):
        normalize_woocommerce("order.created", "webhook_id=12")


def test_negative_quantity_is_refused_naming_the_line():
    payload = fixture("order-processing.json")
    payload["line_items"][0]["quantity"] = -1
    with pytest.raises(PayloadError, match=r"^line_items\[0\]\.quantity: must be a non-negative integer"):
        normalize_woocommerce("order.created", payload)
