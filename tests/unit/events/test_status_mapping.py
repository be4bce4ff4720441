import ast
from pathlib import Path

import pytest

from webapp import vocabulary
from webapp.events import status_mapping
from webapp.events.normalized import INVOICE, ORDER, PAYMENT, PAYMENT_FAILED, REFUND, REFUND_PROCESSED, UnknownTopic
from webapp.events.status_mapping import (
    MAPPINGS,
    bigcommerce_status,
    shopify_order_condition,
    shopify_status,
    woocommerce_status,
)

SHOPIFY_ROWS = [
    ("orders/create", {}, "initiated"),
    ("orders/paid", {}, "sent_for_processing"),
    ("orders/cancelled", {}, "cancelled"),
    ("orders/fulfilled", {}, "ready"),
    ("orders/partially_fulfilled", {}, "processing"),
    ("fulfillments/create", {"status": "success"}, "ready"),
    ("fulfillments/update", {"status": "success", "shipment_status": "in_transit"}, "ready"),
    ("fulfillments/update", {"status": "success", "shipment_status": None}, "ready"),
    ("fulfillments/update", {"status": "success", "shipment_status": "delivered"}, "delivered"),
    ("fulfillment_events/create", {"status": "delivered"}, "delivered"),
    ("fulfillment_events/create", {"status": "out_for_delivery"}, "ready"),
    ("fulfillment_events/create", {"status": "in_transit"}, "ready"),
    ("fulfillment_events/create", {"status": "attempted_delivery"}, "ready"),
    ("fulfillment_events/create", {"status": "ready_for_pickup"}, "ready"),
    ("fulfillment_events/create", {"status": "picked_up"}, "ready"),
    ("fulfillment_events/create", {"status": "confirmed"}, "ready"),
    ("fulfillment_events/create", {"status": "label_printed"}, "ready"),
    ("fulfillment_events/create", {"status": "label_purchased"}, "ready"),
]

ORDERS_UPDATED_ROWS = [
    ({"cancelled_at": "2024-05-01T10:00:00Z", "financial_status": "refunded", "fulfillment_status": "fulfilled"},
     "cancelled"),
    ({"financial_status": "refunded", "fulfillment_status": "fulfilled"}, "returned"),
    ({"financial_status": "paid", "fulfillment_status": "fulfilled"}, "ready"),
    ({"financial_status": "paid", "fulfillment_status": "partial"}, "processing"),
    ({"financial_status": "paid", "fulfillment_status": None}, "sent_for_processing"),
    ({"financial_status": "partially_refunded", "fulfillment_status": None}, "sent_for_processing"),
    ({"financial_status": "pending", "fulfillment_status": None}, "initiated"),
    ({"financial_status": "authorized", "fulfillment_status": None}, "initiated"),
    ({"financial_status": "partially_paid", "fulfillment_status": None}, "initiated"),
    ({}, "initiated"),
]

WOOCOMMERCE_ROWS = [
    ("pending", (ORDER, "initiated")),
    ("on-hold", (ORDER, "initiated")),
    ("processing", (ORDER, "processing")),
    ("completed", (ORDER, "delivered")),
    ("cancelled", (ORDER, "cancelled")),
    ("refunded", (ORDER, "returned")),
    ("failed", (PAYMENT, PAYMENT_FAILED)),
    ("checkout-draft", None),
    ("wc-custom-awaiting-stock", None),
]

BIGCOMMERCE_ROWS = [
    (0, None),
    (1, (ORDER, "initiated")),
    (7, (ORDER, "initiated")),
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
    (12, (ORDER, "initiated")),
    (13, None),
    (99, None),
]


@pytest.mark.parametrize(("topic", "payload", "status"), SHOPIFY_ROWS)
def test_shopify_topic_maps_to_order_status(topic, payload, status):
    assert shopify_status(topic, payload) == (ORDER, status)


@pytest.mark.parametrize(("order", "status"), ORDERS_UPDATED_ROWS)
def test_shopify_orders_updated_status_is_derived_from_the_order(order, status):
    assert shopify_status("orders/updated", order) == (ORDER, status)


def test_shopify_refund_webhook_is_a_processed_refund():
    assert shopify_status("refunds/create", {}) == (REFUND, REFUND_PROCESSED)


@pytest.mark.parametrize("payload", [
    {"status": "failure"}, {"status": "some_future_carrier_status"}, {}])
def test_shopify_fulfillment_event_without_progress_changes_nothing(payload):
    assert shopify_status("fulfillment_events/create", payload) is None


@pytest.mark.parametrize("fulfillment_status", ["cancelled", "error", "failure"])
@pytest.mark.parametrize("topic", ["fulfillments/create", "fulfillments/update"])
def test_shopify_failed_or_cancelled_fulfillment_changes_nothing(topic, fulfillment_status):
    assert shopify_status(topic, {"status": fulfillment_status, "shipment_status": "delivered"}) is None


def test_shopify_unknown_topic_is_refused_with_the_handled_topics():
    with pytest.raises(UnknownTopic, match=r"'products/create' is not handled; handled topics: orders/create"):
        shopify_status("products/create", {})


def test_shopify_order_condition_names_the_rule_that_applied():
    assert shopify_order_condition({"financial_status": "refunded"}) == "financial_status: refunded"


@pytest.mark.parametrize(("status", "expected"), WOOCOMMERCE_ROWS)
def test_woocommerce_status_maps_to_canonical(status, expected):
    assert woocommerce_status(status) == expected


@pytest.mark.parametrize(("status_id", "expected"), BIGCOMMERCE_ROWS)
def test_bigcommerce_status_id_maps_to_canonical(status_id, expected):
    assert bigcommerce_status(status_id) == expected


def test_every_bigcommerce_status_id_has_a_name_and_a_row():
    assert set(status_mapping.BIGCOMMERCE) == set(status_mapping.BIGCOMMERCE_STATUS_NAMES) == set(range(15))


def test_every_order_status_in_the_tables_is_a_catalog_status():
    for rows in MAPPINGS.values():
        for _, kind, status in rows:
            assert kind in (ORDER, PAYMENT, REFUND)
            if kind == ORDER:
                assert vocabulary.is_status(ORDER, status)
    assert all(kind != INVOICE for rows in MAPPINGS.values() for _, kind, _ in rows)


def test_dashboard_table_lists_native_status_as_merchants_know_it():
    assert ("Awaiting Fulfillment (11)", ORDER, "sent_for_processing") in MAPPINGS["bigcommerce"]
    assert ("Completed (completed)", ORDER, "delivered") in MAPPINGS["woocommerce"]
    assert ("fulfillments/update (shipment_status: delivered)", ORDER, "delivered") in MAPPINGS["shopify"]
    assert ("orders/updated (financial_status: refunded)", ORDER, "returned") in MAPPINGS["shopify"]


def test_dashboard_table_lists_ignored_statuses_separately():
    assert status_mapping.IGNORED["bigcommerce"] == ["Incomplete (0)", "Disputed (13)"]
    assert status_mapping.IGNORED["woocommerce"] == ["Draft (checkout-draft)"]
    assert "fulfillment_events/create (status: failure)" in status_mapping.IGNORED["shopify"]
    assert not any(label in status_mapping.IGNORED["shopify"] for label, _, _ in MAPPINGS["shopify"])


EVENTS_DIR = Path(__file__).parents[3] / "webapp" / "events"
ALLOWED_WEBAPP_IMPORTS = ("webapp.events.normalized", "webapp.vocabulary", "webapp.events.status_mapping",
                          "webapp.events.sources")
PACKAGES = ("webapp", "webapp.events", "webapp.notifications")


@pytest.mark.parametrize("path", [EVENTS_DIR / "status_mapping.py", *sorted((EVENTS_DIR / "sources").glob("*.py"))],
                         ids=lambda p: p.name)
def test_event_normalizing_is_plain_python(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module in PACKAGES:
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    for module in imported:
        assert not module.startswith(("flask", "sqlalchemy")), module
        assert not module.startswith("webapp") or module in ALLOWED_WEBAPP_IMPORTS, module
