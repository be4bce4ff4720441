"""WooCommerce order webhooks (REST v3 order objects) turned into NormalizedEvents."""
from __future__ import annotations

import html
from typing import Any

from webapp.events import status_mapping
from webapp.events.normalized import (
    ORDER,
    CustomerData,
    LineItem,
    NormalizedEvent,
    PayloadError,
    Payment,
    UnknownTopic,
)
from webapp.events.sources import (
    billing_customer,
    first_datetime,
    objects,
    require_id,
    text,
    to_decimal,
    to_quantity,
)

SOURCE = "woocommerce"
TOPICS = ("order.created", "order.updated")


def normalize_woocommerce(topic: str, payload: dict) -> NormalizedEvent | None:
    """The event a WooCommerce order webhook means, or None for statuses that change nothing."""
    if topic not in TOPICS:
        raise UnknownTopic(f"WooCommerce topic {topic!r} is not handled; handled topics: {', '.join(TOPICS)}")
    if not isinstance(payload, dict):
        raise PayloadError(f"body: a WooCommerce {topic} webhook body must be a JSON object, "
                           f"got {type(payload).__name__}")
    external_id = require_id(payload.get("id"), "id", f"a WooCommerce {topic} webhook body is the order object")
    status = text(payload.get("status"))
    if status is None:
        raise PayloadError("status: missing; a WooCommerce order object always has its status slug")
    canonical = status_mapping.woocommerce_status(status)
    if canonical is None:
        return None
    return NormalizedEvent(
        source=SOURCE, kind=canonical.kind, external_id=external_id, status=canonical.status, topic=topic,
        number=text(payload.get("number")) or external_id,
        # Only the _gmt fields are usable: the others are in the shop's timezone without saying which.
        occurred_at=first_datetime(payload, ("date_modified_gmt", "date_created_gmt")),
        customer=_customer(payload),
        lines=tuple(_line(path, item) for path, item in objects(payload.get("line_items"), "line_items")),
        total=to_decimal(payload.get("total", "0"), "total"),
        currency=text(payload.get("currency")) or "USD",
        note=text(payload.get("customer_note")),
        # WooCommerce has no marketing consent of its own (plugins keep theirs in meta_data, each its own way).
        payment=None if canonical.kind == ORDER else Payment(method=text(payload.get("payment_method_title"))),
        repeats_state=True,  # order.updated fires on every edit, with the whole order
    )


def _customer(order: dict[str, Any]) -> CustomerData:
    return billing_customer(order, "billing", "country")


def _line(path: str, item: dict[str, Any]) -> LineItem:
    return LineItem(
        # WooCommerce sends names HTML-escaped ("Color &ndash; Black"); messages need the plain text.
        name=html.unescape(text(item.get("name")) or ""),
        quantity=to_quantity(item.get("quantity", 1), f"{path}.quantity"),
        price=to_decimal(item.get("price", "0"), f"{path}.price"),
        sku=text(item.get("sku")),
    )
