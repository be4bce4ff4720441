"""BigCommerce order webhooks and V2 order objects turned into NormalizedEvents.

BigCommerce webhooks carry only the order id and status id, so the caller reads the webhook with
parse_bigcommerce_webhook, fetches GET /v2/orders/{id}, then calls normalize_bigcommerce_order.
"""
from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from webapp.events import status_mapping
from webapp.events.normalized import (
    ORDER,
    REFUND,
    CustomerData,
    LineItem,
    NormalizedEvent,
    PayloadError,
    Payment,
    UnknownTopic,
)
from webapp.events.sources import (
    as_utc,
    billing_customer,
    objects,
    require_id,
    sub_object,
    text,
    to_decimal,
    to_quantity,
)

SOURCE = "bigcommerce"
CREATED = "store/order/created"
STATUS_UPDATED = "store/order/statusUpdated"
SCOPES = (CREATED, STATUS_UPDATED)


def parse_bigcommerce_webhook(payload: dict) -> tuple[str, str, int | None]:
    """(scope, order id, new status id) from a webhook body; the status id is None for created orders."""
    if not isinstance(payload, dict):
        raise PayloadError(f"body: a BigCommerce webhook body must be a JSON object, got {type(payload).__name__}")
    scope = _scope(payload.get("scope"))
    data = payload.get("data")
    if not isinstance(data, dict):
        raise PayloadError("data: missing or not an object; a BigCommerce order webhook has data.id")
    order_id = require_id(data.get("id"), "data.id", "a BigCommerce order webhook names the order in data.id")
    if scope == CREATED:
        return scope, order_id, None
    status = sub_object(data, "status", "data.status")
    return scope, order_id, _status_id(status.get("new_status_id"), "data.status.new_status_id")


def normalize_bigcommerce_order(scope: str, order: dict, status_id: int | None = None) -> NormalizedEvent | None:
    """The event for a V2 order object; status_id (from the webhook) wins over the order's, which may be newer."""
    _scope(scope)
    if not isinstance(order, dict):
        raise PayloadError(f"order: a BigCommerce V2 order must be a JSON object, got {type(order).__name__}")
    external_id = require_id(order.get("id"), "id", "expected the order object from GET /v2/orders/{id}")
    if status_id is None:
        status_id = _status_id(order.get("status_id"), "status_id")
    canonical = status_mapping.bigcommerce_status(status_id)
    if canonical is None:
        return None
    return NormalizedEvent(
        source=SOURCE, kind=canonical.kind, external_id=external_id, number=external_id,
        status=canonical.status, topic=scope, occurred_at=_occurred_at(order), customer=_customer(order),
        lines=tuple(_line(path, item) for path, item in _embedded_products(order)),
        total=to_decimal(order.get("total_inc_tax", "0"), "total_inc_tax"),
        currency=text(order.get("currency_code")) or "USD",
        note=text(order.get("customer_message")),
        # V2 orders carry no marketing consent (newsletter sign-ups are a separate subscribers API).
        payment=None if canonical.kind == ORDER else _payment(order, canonical.kind),
        repeats_state=True,  # each webhook re-reads the whole order
    )


def _payment(order: dict[str, Any], kind: str) -> Payment:
    """A declined payment is of the order's total; a partial refund of what was refunded so far."""
    refunded = order.get("refunded_amount") if kind == REFUND else None
    return Payment(to_decimal(refunded, "refunded_amount") if refunded not in (None, "") else None,
                   text(order.get("payment_method")))


def _scope(scope: Any) -> str:
    if not isinstance(scope, str) or not scope:
        raise PayloadError("scope: missing; a BigCommerce webhook names its event in scope")
    if scope not in SCOPES:
        raise UnknownTopic(f"BigCommerce scope {scope!r} is not handled; handled scopes: {', '.join(SCOPES)}")
    return scope


def _status_id(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{path}: must be a BigCommerce status id (an integer)")
    return value


def _occurred_at(order: dict[str, Any]) -> datetime:
    """V2 dates are RFC 2822, e.g. "Tue, 20 Nov 2012 00:00:00 +0000"."""
    for key in ("date_modified", "date_created"):
        if order.get(key):
            try:
                return as_utc(parsedate_to_datetime(order[key]))
            except (TypeError, ValueError):
                raise PayloadError(f"{key}: must be an RFC 2822 date such as "
                                   "'Tue, 20 Nov 2012 00:00:00 +0000'") from None
    raise PayloadError("date_modified: missing; the event needs the time the change happened")


def _customer(order: dict[str, Any]) -> CustomerData:
    return billing_customer(order, "billing_address", "country_iso2", text(order.get("customer_locale")))


def _embedded_products(order: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Line items when the caller embedded GET /v2/orders/{id}/products; the API itself only links to them."""
    products = order.get("products")
    return objects(products, "products") if isinstance(products, list) else []


def _line(path: str, item: dict[str, Any]) -> LineItem:
    return LineItem(
        name=text(item.get("name")) or "",
        quantity=to_quantity(item.get("quantity", 1), f"{path}.quantity"),
        price=to_decimal(item.get("price_inc_tax", "0"), f"{path}.price_inc_tax"),
        sku=text(item.get("sku")),
    )
