"""The body of our own REST API's POST /api/v1/events, validated into a NormalizedEvent.

Checked by hand so every error names the field's path, e.g. "order.customer.email: must be a string".
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from webapp import vocabulary
from webapp.events.normalized import (
    INVOICE,
    ORDER,
    PAYMENT,
    PAYMENT_CONFIRMED,
    PAYMENT_FAILED,
    REFUND,
    REFUND_PROCESSED,
    SHIPMENT_STATUSES,
    CustomerData,
    LineItem,
    NormalizedEvent,
    PayloadError,
    Payment,
    Shipment,
    Tracking,
)
from webapp.events.sources import to_datetime, to_decimal, to_quantity

# The schema, as published to API users (unknown keys anywhere are ignored):
# {
#   "source": "api",                     optional; an order source code except "manual"
#   "type": "order.status",              order.status | invoice.status | payment.confirmed | payment.failed
#                                        | refund.processed | shipping.update
#   "status": "ready",                   catalog status; required for order.status and invoice.status
#   "occurred_at": "2024-05-01T12:30:00Z",   optional ISO 8601; no offset means UTC; default now
#   "order": {                           "invoice" instead for invoice.status
#     "id": "A-17" or 17,                required
#     "number": "#17",                   optional, defaults to id
#     "order_id": "A-16",                invoices only: the order the invoice belongs to
#     "customer": {"id", "name", "email", "phone", "country" (ISO alpha-2), "locale" (BCP 47)},
#     "lines": [{"name" (required), "quantity" (integer >= 0, default 1), "price", "sku"}],
#     "total": "12.50",                  number or numeric string
#     "currency": "EUR",                 ISO 4217, default USD
#     "tracking": {"carrier", "number", "url"},
#     "note": "..."
#   },
#   "payment": {"amount", "method", "reason"},   payment and refund types, optional; amount defaults to the total
#   "shipment": {"status", "message", "eta", "id"}   shipping.update: status one of in_transit, out_for_delivery,
#                                        attempted_delivery, ready_for_pickup, delayed (the order becomes ready)
# }
TYPES: dict[str, str] = {
    "order.status": ORDER,
    "invoice.status": INVOICE,
    "payment.confirmed": PAYMENT,
    "payment.failed": PAYMENT,
    "refund.processed": REFUND,
    "shipping.update": ORDER,
}
_IMPLIED_STATUS = {
    "payment.confirmed": PAYMENT_CONFIRMED,
    "payment.failed": PAYMENT_FAILED,
    "refund.processed": REFUND_PROCESSED,
    "shipping.update": "ready",  # a parcel on its way has left the shop
}
# "manual" events are the ones merchants type into the dashboard; an API client is never one.
SOURCES: tuple[str, ...] = tuple(c.code for c in vocabulary.ORDER_SOURCES if c.code != "manual")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def normalize_api_event(payload: dict, source_default: str = "api") -> NormalizedEvent:
    """Validate an API event body; raises PayloadError naming the first bad field."""
    if not isinstance(payload, dict):
        raise PayloadError("body: must be a JSON object")
    event_type = _event_type(payload)
    kind = TYPES[event_type]
    key = "invoice" if kind == INVOICE else "order"
    subject = _object(payload, key, key, required=True)
    external_id = _id(subject, "id", f"{key}.id", required=True)
    return NormalizedEvent(
        source=_source(payload, source_default), kind=kind, external_id=external_id,
        number=_id(subject, "number", f"{key}.number") or external_id,
        status=_status(payload, event_type, kind), occurred_at=_occurred_at(payload), topic=event_type,
        customer=_customer(_object(subject, "customer", f"{key}.customer"), f"{key}.customer"),
        lines=_lines(subject.get("lines"), f"{key}.lines"),
        total=_amount(subject, "total", f"{key}.total"),
        currency=_currency(subject, f"{key}.currency"),
        tracking=_tracking(_object(subject, "tracking", f"{key}.tracking"), f"{key}.tracking"),
        note=_string(subject, "note", f"{key}.note"),
        order_external_id=_id(subject, "order_id", f"{key}.order_id") if kind == INVOICE else None,
        payment=_payment(_object(payload, "payment", "payment")) if kind in (PAYMENT, REFUND) else None,
        shipment=_shipment(_object(payload, "shipment", "shipment", required=True))
        if event_type == "shipping.update" else None,
    )


def _fail(path: str, problem: str) -> PayloadError:
    return PayloadError(f"{path}: {problem}")


def _event_type(payload: dict[str, Any]) -> str:
    event_type = payload.get("type")
    if event_type is None:
        raise _fail("type", f"is required; one of {', '.join(TYPES)}")
    if not isinstance(event_type, str) or event_type not in TYPES:
        raise _fail("type", f"must be one of {', '.join(TYPES)}")
    return event_type


def _source(payload: dict[str, Any], default: str) -> str:
    source = payload.get("source")
    if source is None:
        return default
    if source not in SOURCES:
        raise _fail("source", f"must be one of {', '.join(SOURCES)}")
    return source


def _status(payload: dict[str, Any], event_type: str, kind: str) -> str:
    status = payload.get("status")
    implied = _IMPLIED_STATUS.get(event_type)
    if implied:
        # Payment and refund events name their status in the type; a different one means a confused client.
        if status not in (None, implied):
            raise _fail("status", f"must be omitted or {implied!r} for type {event_type}")
        return implied
    codes = vocabulary.INVOICE_STATUSES if kind == INVOICE else vocabulary.ORDER_STATUSES
    if status is None:
        raise _fail("status", f"is required for type {event_type}; one of {', '.join(c.code for c in codes)}")
    if not isinstance(status, str) or not vocabulary.is_status(kind, status):
        raise _fail("status", f"must be one of {', '.join(c.code for c in codes)} for type {event_type}")
    return status


def _occurred_at(payload: dict[str, Any]) -> datetime:
    if payload.get("occurred_at") is None:
        return datetime.now(UTC)
    return to_datetime(payload["occurred_at"], "occurred_at")


def _object(record: dict[str, Any], key: str, path: str, required: bool = False) -> dict[str, Any]:
    value = record.get(key)
    if value is None and required:
        raise _fail(path, "is required")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(path, "must be an object")
    return value


def _string(record: dict[str, Any], key: str, path: str) -> str | None:
    """A string field; blank counts as absent because clients often send "" for "unknown"."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(path, "must be a string")
    return value.strip() or None


def _id(record: dict[str, Any], key: str, path: str, required: bool = False) -> str | None:
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is not None and not isinstance(value, str):
        raise _fail(path, "must be a string or an integer")
    value = (value or "").strip() or None
    if value is None and required:
        raise _fail(path, "is required")
    return value


def _matching(record: dict[str, Any], key: str, path: str, pattern: re.Pattern[str], expected: str) -> str:
    """A string field that must have a format; "" when absent."""
    value = _string(record, key, path)
    if value is not None and not pattern.fullmatch(value):
        raise _fail(path, f"must be {expected}")
    return value or ""


def _amount(record: dict[str, Any], key: str, path: str) -> Decimal:
    value = record.get(key)
    return Decimal("0") if value is None else to_decimal(value, path)


def _currency(record: dict[str, Any], path: str) -> str:
    currency = _matching(record, "currency", path, _CURRENCY, "a 3-letter ISO 4217 code such as EUR")
    return currency.upper() or "USD"


def _customer(customer: dict[str, Any], path: str) -> CustomerData:
    return CustomerData(
        external_id=_id(customer, "id", f"{path}.id"),
        name=_string(customer, "name", f"{path}.name") or "",
        email=_matching(customer, "email", f"{path}.email", _EMAIL, "an email address") or None,
        phone=_string(customer, "phone", f"{path}.phone"),
        country=_matching(customer, "country", f"{path}.country", _COUNTRY, "an ISO 3166 alpha-2 code such as FR",
                          ).upper() or None,
        locale=_matching(customer, "locale", f"{path}.locale", _LOCALE, "a BCP 47 tag such as fr or pt-BR") or None,
    )


def _lines(lines: Any, path: str) -> tuple[LineItem, ...]:
    if lines is None:
        return ()
    if not isinstance(lines, list):
        raise _fail(path, "must be a list")
    return tuple(_line(item, f"{path}[{i}]") for i, item in enumerate(lines))


def _line(item: Any, path: str) -> LineItem:
    if not isinstance(item, dict):
        raise _fail(path, "must be an object")
    name = _string(item, "name", f"{path}.name")
    if name is None:
        raise _fail(f"{path}.name", "is required")
    return LineItem(
        name=name,
        quantity=to_quantity(item.get("quantity", 1), f"{path}.quantity"),
        price=_amount(item, "price", f"{path}.price"),
        sku=_string(item, "sku", f"{path}.sku"),
    )


def _payment(payment: dict[str, Any]) -> Payment:
    return Payment(
        amount=to_decimal(payment["amount"], "payment.amount") if payment.get("amount") is not None else None,
        method=_string(payment, "method", "payment.method"),
        reason=_string(payment, "reason", "payment.reason"),
    )


def _shipment(shipment: dict[str, Any]) -> Shipment:
    status = shipment.get("status")
    if status not in SHIPMENT_STATUSES:
        raise _fail("shipment.status", f"must be one of {', '.join(SHIPMENT_STATUSES)}")
    eta = _string(shipment, "eta", "shipment.eta")
    if eta is not None:
        to_datetime(eta if "T" in eta else f"{eta}T00:00:00", "shipment.eta")
    return Shipment(status, description=_string(shipment, "message", "shipment.message"), eta=eta,
                    reference=_id(shipment, "id", "shipment.id"))


def _tracking(tracking: dict[str, Any], path: str) -> Tracking | None:
    result = Tracking(
        carrier=_string(tracking, "carrier", f"{path}.carrier"),
        number=_string(tracking, "number", f"{path}.number"),
        url=_string(tracking, "url", f"{path}.url"),
    )
    return result if result != Tracking() else None
