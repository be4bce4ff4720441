"""Shopify webhooks (orders, fulfillments, fulfillment events, refunds) turned into NormalizedEvents."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from webapp.events import status_mapping
from webapp.events.normalized import CustomerData, LineItem, NormalizedEvent, PayloadError, Tracking, UnknownTopic
from webapp.events.sources import (
    address_name,
    first_datetime,
    first_text,
    full_name,
    objects,
    require_id,
    sub_object,
    text,
    to_decimal,
    to_quantity,
)

SOURCE = "shopify"
ORDER_TOPICS = (
    "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
    "orders/partially_fulfilled",
)
FULFILLMENT_TOPICS = ("fulfillments/create", "fulfillments/update", "fulfillment_events/create")
REFUND_TOPIC = "refunds/create"
# Fulfillments, their events and refunds carry no updated order, only their own times; this order picks the
# time the record changed at Shopify, then the carrier's or payment's own time.
_PART_TIMES = ("updated_at", "happened_at", "processed_at", "created_at")


def normalize_shopify(topic: str, payload: dict) -> NormalizedEvent | None:
    """The event a Shopify webhook means, or None when it changes no status (e.g. a failed delivery scan)."""
    build = _BUILDERS.get(topic)
    if build is None:
        raise UnknownTopic(f"Shopify topic {topic!r} is not handled; handled topics: {', '.join(_BUILDERS)}")
    if not isinstance(payload, dict):
        raise PayloadError(f"body: a Shopify {topic} webhook body must be a JSON object, got {type(payload).__name__}")
    return build(topic, payload)


def _order_event(topic: str, order: dict[str, Any]) -> NormalizedEvent | None:
    hint = f"a Shopify {topic} webhook body is the order object itself"
    if "id" not in order and isinstance(order.get("order"), dict):
        hint += ', not wrapped in {"order": ...}'
    external_id = require_id(order.get("id"), "id", hint)
    canonical = status_mapping.shopify_status(topic, order)
    if canonical is None:
        return None
    return NormalizedEvent(
        source=SOURCE, kind=canonical.kind, external_id=external_id, status=canonical.status, topic=topic,
        number=first_text(order.get("name"), order.get("order_number")) or external_id,
        occurred_at=first_datetime(order, ("updated_at", "created_at")),
        customer=_order_customer(order),
        lines=tuple(_line(path, item) for path, item in objects(order.get("line_items"), "line_items")),
        total=to_decimal(order.get("total_price", "0"), "total_price"),
        currency=text(order.get("currency")) or "USD",
        tracking=_last_tracking(order),
        note=text(order.get("note")),
    )


def _order_customer(order: dict[str, Any]) -> CustomerData:
    customer = sub_object(order, "customer", "customer")
    billing = sub_object(order, "billing_address", "billing_address")
    shipping = sub_object(order, "shipping_address", "shipping_address")
    return CustomerData(
        external_id=text(customer.get("id")),
        name=full_name(customer) or address_name(billing) or address_name(shipping),
        email=first_text(order.get("email"), customer.get("email")),
        phone=first_text(order.get("phone"), customer.get("phone"), billing.get("phone"), shipping.get("phone")),
        country=first_text(billing.get("country_code"), shipping.get("country_code")),
        locale=text(order.get("customer_locale")),
    )


def _line(path: str, item: dict[str, Any]) -> LineItem:
    return LineItem(
        name=first_text(item.get("title"), item.get("name")) or "",
        quantity=to_quantity(item.get("quantity", 1), f"{path}.quantity"),
        price=to_decimal(item.get("price", "0"), f"{path}.price"),
        sku=text(item.get("sku")),
    )


def _tracking(fulfillment: dict[str, Any]) -> Tracking | None:
    tracking = Tracking(
        carrier=text(fulfillment.get("tracking_company")),
        number=first_text(fulfillment.get("tracking_number"), *_list(fulfillment.get("tracking_numbers"))),
        url=first_text(fulfillment.get("tracking_url"), *_list(fulfillment.get("tracking_urls"))),
    )
    return tracking if tracking != Tracking() else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _last_tracking(order: dict[str, Any]) -> Tracking | None:
    for _, fulfillment in reversed(objects(order.get("fulfillments"), "fulfillments")):
        if fulfillment.get("status") in status_mapping.SHOPIFY_FAILED_FULFILLMENTS:
            continue  # its tracking number was never handed to a carrier, or was withdrawn
        tracking = _tracking(fulfillment)
        if tracking and tracking.number:
            return tracking
    return None


def _fulfillment_event(topic: str, payload: dict[str, Any]) -> NormalizedEvent | None:
    order_id = _require_order_id(topic, payload)
    canonical = status_mapping.shopify_status(topic, payload)
    if canonical is None:
        return None
    lines = tuple(_line(path, item) for path, item in objects(payload.get("line_items"), "line_items"))
    return _part_event(topic, payload, order_id, canonical, lines=lines, tracking=_tracking(payload))


def _refund_event(topic: str, payload: dict[str, Any]) -> NormalizedEvent | None:
    order_id = _require_order_id(topic, payload)
    canonical = status_mapping.shopify_status(topic, payload)
    if canonical is None:
        return None
    total, currency = _refunded_amount(payload)
    lines = tuple(_refund_line(path, item) for path, item in objects(payload.get("refund_line_items"),
                                                                      "refund_line_items"))
    return _part_event(topic, payload, order_id, canonical, lines=lines, total=total, currency=currency,
                       note=text(payload.get("note")))


def _require_order_id(topic: str, payload: dict[str, Any]) -> str:
    return require_id(payload.get("order_id"), "order_id",
                      f"a Shopify {topic} webhook body names the order it belongs to in order_id")


def _part_event(topic: str, payload: dict[str, Any], order_id: str, canonical: status_mapping.Canonical,
                **details: Any) -> NormalizedEvent:
    destination = sub_object(payload, "destination", "destination")
    customer = CustomerData(
        name=address_name(destination), email=text(payload.get("email")),
        phone=text(destination.get("phone")), country=text(destination.get("country_code")),
    )
    return NormalizedEvent(
        source=SOURCE, kind=canonical.kind, external_id=order_id, status=canonical.status, topic=topic,
        number=(text(payload.get("name")) or "").split(".")[0],  # fulfillment "#1001.1" belongs to order #1001
        occurred_at=first_datetime(payload, _PART_TIMES), customer=customer, whole_order=False, **details,
    )


def _refunded_amount(refund: dict[str, Any]) -> tuple[Decimal, str]:
    """What went back to the customer: successful refund transactions (voids and failures moved no money)."""
    total, currency = Decimal("0"), None
    for path, transaction in objects(refund.get("transactions"), "transactions"):
        if transaction.get("kind", "refund") == "refund" and transaction.get("status", "success") == "success":
            total += to_decimal(transaction.get("amount", "0"), f"{path}.amount")
            currency = currency or text(transaction.get("currency"))
    return total, currency or "USD"


def _refund_line(path: str, item: dict[str, Any]) -> LineItem:
    line_item = sub_object(item, "line_item", f"{path}.line_item")
    return LineItem(
        name=first_text(line_item.get("title"), line_item.get("name")) or "",
        quantity=to_quantity(item.get("quantity", 1), f"{path}.quantity"),
        price=to_decimal(line_item.get("price", "0"), f"{path}.line_item.price"),
        sku=text(line_item.get("sku")),
    )


_BUILDERS: dict[str, Callable[[str, dict[str, Any]], NormalizedEvent | None]] = {
    **dict.fromkeys(ORDER_TOPICS, _order_event),
    **dict.fromkeys(FULFILLMENT_TOPICS, _fulfillment_event),
    REFUND_TOPIC: _refund_event,
}
