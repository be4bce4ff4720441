"""Each source's native order statuses (or webhook topics) mapped to our canonical (kind, status) codes.

One table per source; MAPPINGS and IGNORED present them read-only to the dashboard.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from webapp.events.normalized import (
    ORDER,
    PAYMENT,
    PAYMENT_CONFIRMED,
    PAYMENT_FAILED,
    REFUND,
    REFUND_PROCESSED,
    UnknownTopic,
)


class Canonical(NamedTuple):
    kind: str  # ORDER, INVOICE, PAYMENT or REFUND
    status: str  # catalog status code for ORDER/INVOICE, else a PAYMENT_/REFUND_ code


INITIATED = Canonical(ORDER, "initiated")
SENT_FOR_PROCESSING = Canonical(ORDER, "sent_for_processing")
PROCESSING = Canonical(ORDER, "processing")
READY = Canonical(ORDER, "ready")
DELIVERED = Canonical(ORDER, "delivered")
CANCELLED = Canonical(ORDER, "cancelled")
RETURNED = Canonical(ORDER, "returned")
REFUNDED = Canonical(REFUND, REFUND_PROCESSED)
PAYMENT_DECLINED = Canonical(PAYMENT, PAYMENT_FAILED)
PAYMENT_RECEIVED = Canonical(PAYMENT, PAYMENT_CONFIRMED)

_OTHER_ORDER_STATE = "any other state: pending, authorized, partially_paid, ..."

# Shopify names events by webhook topic, and some topics only tell us something together with a field of
# the payload, so the key is (topic, condition); condition None is the row for any other payload of the
# topic. A None value means "no status change": the event is ignored.
SHOPIFY: dict[tuple[str, str | None], Canonical | None] = {
    ("orders/create", None): INITIATED,
    ("orders/paid", None): SENT_FOR_PROCESSING,
    ("orders/cancelled", None): CANCELLED,
    ("orders/fulfilled", None): READY,
    ("orders/partially_fulfilled", None): PROCESSING,
    # orders/updated fires for any edit, so the order's own state decides (see shopify_order_condition).
    ("orders/updated", "cancelled_at: set"): CANCELLED,
    ("orders/updated", "financial_status: refunded"): RETURNED,
    ("orders/updated", "fulfillment_status: fulfilled"): READY,
    ("orders/updated", "fulfillment_status: partial"): PROCESSING,
    ("orders/updated", "financial_status: paid"): SENT_FOR_PROCESSING,
    # A partial refund leaves a paid order paid; without this row it would fall back to "initiated".
    ("orders/updated", "financial_status: partially_refunded"): SENT_FOR_PROCESSING,
    ("orders/updated", _OTHER_ORDER_STATE): INITIATED,
    ("fulfillments/create", None): READY,
    ("fulfillments/update", None): READY,
    ("fulfillments/update", "shipment_status: delivered"): DELIVERED,
    # A fulfillment that was cancelled or failed has not made anything ready.
    ("fulfillments/create", "status: cancelled"): None,
    ("fulfillments/create", "status: error"): None,
    ("fulfillments/create", "status: failure"): None,
    ("fulfillments/update", "status: cancelled"): None,
    ("fulfillments/update", "status: error"): None,
    ("fulfillments/update", "status: failure"): None,
    # Carrier scans; statuses not listed (new ones Shopify may add) change nothing.
    ("fulfillment_events/create", "status: delivered"): DELIVERED,
    ("fulfillment_events/create", "status: out_for_delivery"): READY,
    ("fulfillment_events/create", "status: in_transit"): READY,
    ("fulfillment_events/create", "status: attempted_delivery"): READY,
    ("fulfillment_events/create", "status: ready_for_pickup"): READY,
    ("fulfillment_events/create", "status: picked_up"): READY,
    ("fulfillment_events/create", "status: confirmed"): READY,
    ("fulfillment_events/create", "status: label_printed"): READY,
    ("fulfillment_events/create", "status: label_purchased"): READY,
    ("fulfillment_events/create", "status: failure"): None,
    ("refunds/create", None): REFUNDED,
    # Payment transactions: money taken, or an attempt to take it that did not go through. Refund
    # transactions are told by refunds/create; authorizations, voids and pending ones change nothing.
    ("order_transactions/create", "kind: sale, status: success"): PAYMENT_RECEIVED,
    ("order_transactions/create", "kind: capture, status: success"): PAYMENT_RECEIVED,
    ("order_transactions/create", "kind: sale, status: failure"): PAYMENT_DECLINED,
    ("order_transactions/create", "kind: sale, status: error"): PAYMENT_DECLINED,
    ("order_transactions/create", "kind: authorization, status: failure"): PAYMENT_DECLINED,
    ("order_transactions/create", "kind: authorization, status: error"): PAYMENT_DECLINED,
    ("order_transactions/create", "kind: capture, status: failure"): PAYMENT_DECLINED,
    ("order_transactions/create", "kind: capture, status: error"): PAYMENT_DECLINED,
    ("order_transactions/create", None): None,
}
SHOPIFY_TOPICS: tuple[str, ...] = tuple(dict.fromkeys(topic for topic, _ in SHOPIFY))
SHOPIFY_FAILED_FULFILLMENTS = ("cancelled", "error", "failure")  # fulfillment `status` values

# WooCommerce order `status` slugs, as the REST API and webhooks send them. Custom statuses added by
# plugins are not listed and are ignored.
WOOCOMMERCE: dict[str, Canonical | None] = {
    "pending": INITIATED,
    "on-hold": INITIATED,
    "processing": PROCESSING,
    "completed": DELIVERED,
    "cancelled": CANCELLED,
    "refunded": RETURNED,
    "failed": PAYMENT_DECLINED,
    "checkout-draft": None,  # a cart in the block checkout, not an order the customer placed
}
_WOOCOMMERCE_LABELS = {
    "pending": "Pending payment", "on-hold": "On hold", "processing": "Processing", "completed": "Completed",
    "cancelled": "Cancelled", "refunded": "Refunded", "failed": "Failed", "checkout-draft": "Draft",
}

# BigCommerce V2 order status ids.
BIGCOMMERCE: dict[int, Canonical | None] = {
    0: None,  # Incomplete: an abandoned checkout, the customer never placed it
    1: INITIATED,
    7: INITIATED,
    12: INITIATED,
    11: SENT_FOR_PROCESSING,
    9: PROCESSING,
    3: PROCESSING,
    8: READY,
    2: READY,
    10: DELIVERED,
    5: CANCELLED,
    4: RETURNED,
    14: REFUNDED,
    6: PAYMENT_DECLINED,
    13: None,  # Disputed: between the merchant and the card issuer; nothing to tell the customer yet
}
BIGCOMMERCE_STATUS_NAMES: dict[int, str] = {
    0: "Incomplete", 1: "Pending", 2: "Shipped", 3: "Partially Shipped", 4: "Refunded", 5: "Cancelled",
    6: "Declined", 7: "Awaiting Payment", 8: "Awaiting Pickup", 9: "Awaiting Shipment", 10: "Completed",
    11: "Awaiting Fulfillment", 12: "Manual Verification Required", 13: "Disputed", 14: "Partially Refunded",
}


def shopify_order_condition(order: Mapping[str, Any]) -> str:
    """Which orders/updated row applies to this order payload; the first matching rule wins."""
    financial = order.get("financial_status")
    fulfillment = order.get("fulfillment_status")
    if order.get("cancelled_at"):
        return "cancelled_at: set"
    if financial == "refunded":
        return "financial_status: refunded"
    if fulfillment in ("fulfilled", "partial"):
        return f"fulfillment_status: {fulfillment}"
    if financial in ("paid", "partially_refunded"):
        return f"financial_status: {financial}"
    return _OTHER_ORDER_STATE


def _shopify_condition(topic: str, payload: Mapping[str, Any]) -> str | None:
    if topic == "orders/updated":
        return shopify_order_condition(payload)
    if topic in ("fulfillments/create", "fulfillments/update"):
        if payload.get("status") in SHOPIFY_FAILED_FULFILLMENTS:
            return f"status: {payload['status']}"
        return f"shipment_status: {payload['shipment_status']}" if payload.get("shipment_status") else None
    if topic == "fulfillment_events/create":
        return f"status: {payload.get('status')}"
    if topic == "order_transactions/create":
        return f"kind: {payload.get('kind')}, status: {payload.get('status')}"
    return None


def shopify_status(topic: str, payload: Mapping[str, Any]) -> Canonical | None:
    """The canonical status a Shopify webhook means, or None when it changes nothing."""
    if topic not in SHOPIFY_TOPICS:
        raise UnknownTopic(f"Shopify topic {topic!r} is not handled; handled topics: {', '.join(SHOPIFY_TOPICS)}")
    condition = _shopify_condition(topic, payload)
    if (topic, condition) in SHOPIFY:
        return SHOPIFY[(topic, condition)]
    return SHOPIFY.get((topic, None))


def woocommerce_status(status: str) -> Canonical | None:
    """The canonical status for a WooCommerce order status slug, or None to ignore it."""
    return WOOCOMMERCE.get(status)


def bigcommerce_status(status_id: int) -> Canonical | None:
    """The canonical status for a BigCommerce V2 status id, or None to ignore it."""
    return BIGCOMMERCE.get(status_id)


def _shopify_label(topic: str, condition: str | None) -> str:
    return f"{topic} ({condition})" if condition else topic


def _bigcommerce_label(status_id: int) -> str:
    return f"{BIGCOMMERCE_STATUS_NAMES[status_id]} ({status_id})"


def _woocommerce_label(slug: str) -> str:
    return f"{_WOOCOMMERCE_LABELS[slug]} ({slug})"


# source code -> (native status or topic as the merchant knows it, canonical kind, canonical status)
MAPPINGS: dict[str, list[tuple[str, str, str]]] = {
    "shopify": [(_shopify_label(*key), c.kind, c.status) for key, c in SHOPIFY.items() if c],
    "woocommerce": [(_woocommerce_label(slug), c.kind, c.status) for slug, c in WOOCOMMERCE.items() if c],
    "bigcommerce": [(_bigcommerce_label(sid), c.kind, c.status) for sid, c in BIGCOMMERCE.items() if c],
}
# source code -> native statuses deliberately ignored (they change nothing), labelled as in MAPPINGS
IGNORED: dict[str, list[str]] = {
    "shopify": [_shopify_label(*key) for key, c in SHOPIFY.items() if c is None],
    "woocommerce": [_woocommerce_label(slug) for slug, c in WOOCOMMERCE.items() if c is None],
    "bigcommerce": [_bigcommerce_label(sid) for sid, c in BIGCOMMERCE.items() if c is None],
}
