from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from webapp.events.normalized import (
    INVOICE,
    ORDER,
    PAYMENT,
    PAYMENT_CONFIRMED,
    PAYMENT_FAILED,
    REFUND,
    REFUND_PROCESSED,
    CustomerData,
    LineItem,
    PayloadError,
    Tracking,
)
from webapp.events.sources.api import normalize_api_event

FULL = {
    "source": "cto",
    "type": "order.status",
    "status": "ready",
    "occurred_at": "2024-05-01T14:30:00+02:00",
    "order": {
        "id": "A-17",
        "number": "#17",
        "customer": {"id": 5, "name": "Zoé Martin", "email": "zoe@example.fr", "phone": "06 12 34 56 78",
                     "country": "fr", "locale": "fr-FR"},
        "lines": [{"name": "Chair", "quantity": 2, "price": 49.9, "sku": "CH-1"}, {"name": "Delivery"}],
        "total": "99.80",
        "currency": "eur",
        "tracking": {"carrier": "Colissimo", "number": "6A123", "url": "https://example.fr/t/6A123"},
        "note": "Call before delivery",
        "unknown_key": "ignored",
    },
    "unknown_top_level": {"ignored": True},
}


def event(**changes):
    return {"type": "order.status", "status": "processing", "order": {"id": 17}, **changes}


def with_order(**changes):
    return event(order={"id": 17, **changes})


def test_full_order_event_is_normalized():
    result = normalize_api_event(FULL)
    assert (result.source, result.kind, result.status, result.topic) == ("cto", ORDER, "ready", "order.status")
    assert (result.external_id, result.number) == ("A-17", "#17")
    assert result.occurred_at == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert result.customer == CustomerData("5", "Zoé Martin", "zoe@example.fr", "06 12 34 56 78", "FR", "fr-FR")
    assert result.lines == (LineItem("Chair", 2, Decimal("49.9"), "CH-1"), LineItem("Delivery", 1, Decimal("0")))
    assert (result.total, result.currency, result.note) == (Decimal("99.80"), "EUR", "Call before delivery")
    assert result.tracking == Tracking("Colissimo", "6A123", "https://example.fr/t/6A123")


def test_minimal_event_gets_defaults():
    before = datetime.now(UTC)
    result = normalize_api_event(event())
    assert (result.source, result.external_id, result.number) == ("api", "17", "17")
    assert (result.total, result.currency, result.tracking, result.note) == (Decimal("0"), "USD", None, None)
    assert result.customer == CustomerData()
    assert before <= result.occurred_at <= datetime.now(UTC) + timedelta(seconds=1)


def test_source_default_is_used_when_body_names_none():
    assert normalize_api_event(event(), source_default="retailcloud_online").source == "retailcloud_online"


def test_time_without_offset_is_utc():
    assert normalize_api_event(event(occurred_at="2024-05-01T12:30:00")).occurred_at == \
        datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def test_invoice_event_uses_invoice_object_and_its_order():
    body = {"type": "invoice.status", "status": "closed", "invoice": {"id": "INV-9", "order_id": 17}}
    result = normalize_api_event(body)
    assert (result.kind, result.status, result.external_id, result.order_external_id) == (
        INVOICE, "closed", "INV-9", "17")


@pytest.mark.parametrize(("event_type", "kind", "status"), [
    ("payment.confirmed", PAYMENT, PAYMENT_CONFIRMED),
    ("payment.failed", PAYMENT, PAYMENT_FAILED),
    ("refund.processed", REFUND, REFUND_PROCESSED),
])
def test_payment_and_refund_types_imply_their_status(event_type, kind, status):
    result = normalize_api_event({"type": event_type, "order": {"id": 17, "total": 12}})
    assert (result.kind, result.status, result.total) == (kind, status, Decimal("12"))


def test_blank_optional_strings_count_as_absent():
    result = normalize_api_event(with_order(customer={"email": "", "phone": " "}, note=""))
    assert (result.customer.email, result.customer.phone, result.note) == (None, None, None)


@pytest.mark.parametrize(("body", "message"), [
    ([], "body: must be a JSON object"),
    ({"order": {"id": 1}}, "type: is required; one of order.status, invoice.status"),
    (event(type="order.shipped"), "type: must be one of order.status, invoice.status, payment.confirmed"),
    (event(type=["order.status"]), "type: must be one of"),
    (event(source="manual"), "source: must be one of cto, fanvista, shopify"),
    (event(source="amazon"), "source: must be one of"),
    (event(status=None), "status: is required for type order.status; one of initiated, sent_for_processing"),
    (event(status="shipped"), "status: must be one of initiated, sent_for_processing, processing, ready"),
    (event(status="closed"), "status: must be one of"),
    ({"type": "invoice.status", "status": "ready", "invoice": {"id": 1}},
     "status: must be one of closed, cancelled for type invoice.status"),
    ({"type": "payment.failed", "status": "cancelled", "order": {"id": 1}},
     "status: must be omitted or 'payment_failed' for type payment.failed"),
    (event(occurred_at="last tuesday"), "occurred_at: must be an ISO 8601 date-time"),
    (event(occurred_at=1714566600), "occurred_at: must be an ISO 8601 date-time"),
    (event(order=None), "order: is required"),
    ({"type": "invoice.status", "status": "closed", "order": {"id": 1}}, "invoice: is required"),
    (event(order=[{"id": 1}]), "order: must be an object"),
    (event(order={}), "order.id: is required"),
    (event(order={"id": True}), "order.id: must be a string or an integer"),
    (with_order(number=1.5), "order.number: must be a string or an integer"),
    ({"type": "invoice.status", "status": "closed", "invoice": {"id": 1, "order_id": {}}},
     "invoice.order_id: must be a string or an integer"),
    (with_order(customer="Bob"), "order.customer: must be an object"),
    (with_order(customer={"email": 42}), "order.customer.email: must be a string"),
    (with_order(customer={"email": "bob at example.com"}), "order.customer.email: must be an email address"),
    (with_order(customer={"name": ["Bob"]}), "order.customer.name: must be a string"),
    (with_order(customer={"phone": 5551234}), "order.customer.phone: must be a string"),
    (with_order(customer={"country": "USA"}), "order.customer.country: must be an ISO 3166 alpha-2 code"),
    (with_order(customer={"locale": "en_US"}), "order.customer.locale: must be a BCP 47 tag"),
    (with_order(customer={"id": 1.0}), "order.customer.id: must be a string or an integer"),
    (with_order(lines={"name": "Chair"}), "order.lines: must be a list"),
    (with_order(lines=["Chair"]), "order.lines[0]: must be an object"),
    (with_order(lines=[{"name": "Chair"}, {"quantity": 1}]), "order.lines[1].name: is required"),
    (with_order(lines=[{"name": "Chair", "quantity": -1}]), "order.lines[0].quantity: must be a non-negative integer"),
    (with_order(lines=[{"name": "Chair", "quantity": 1.5}]), "order.lines[0].quantity: must be a non-negative"),
    (with_order(lines=[{"name": "Chair", "price": "cheap"}]), "order.lines[0].price: must be a number or a numeric"),
    (with_order(lines=[{"name": "Chair", "sku": 7}]), "order.lines[0].sku: must be a string"),
    (with_order(total="12,50"), "order.total: must be a number or a numeric string"),
    (with_order(total=True), "order.total: must be a number or a numeric string"),
    (with_order(total="NaN"), "order.total: must be a finite number"),
    (with_order(currency="EURO"), "order.currency: must be a 3-letter ISO 4217 code"),
    (with_order(currency=978), "order.currency: must be a string"),
    (with_order(tracking="6A123"), "order.tracking: must be an object"),
    (with_order(tracking={"url": 1}), "order.tracking.url: must be a string"),
    (with_order(note=["x"]), "order.note: must be a string"),
    ({"type": "invoice.status", "status": "closed", "invoice": {"id": 1, "customer": {"email": 1}}},
     "invoice.customer.email: must be a string"),
])
def test_invalid_field_is_refused_naming_its_path(body, message):
    with pytest.raises(PayloadError) as refused:
        normalize_api_event(body)
    assert str(refused.value).startswith(message)
