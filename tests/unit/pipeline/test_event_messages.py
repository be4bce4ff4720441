"""Which routed message an event causes, and the key that makes the same news one message."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from webapp.events.normalized import (
    ORDER,
    PAYMENT,
    PAYMENT_FAILED,
    REFUND,
    REFUND_PROCESSED,
    NormalizedEvent,
    Payment,
    Shipment,
)
from webapp.pipeline.event_messages import message_data, message_key, message_type_for, shipping_occurrence

AT = datetime(2024, 5, 1, tzinfo=UTC)
ORDER_ROW = SimpleNamespace(id=7, total="99.00")


def event(kind=ORDER, status="ready", **fields) -> NormalizedEvent:
    return NormalizedEvent("shopify", kind, "1", "#1", status, AT, "topic", **fields)


def test_payment_refund_and_carrier_news_have_their_types_and_order_statuses_none():
    assert message_type_for(event(PAYMENT, PAYMENT_FAILED)) == "payment.failed"
    assert message_type_for(event(REFUND, REFUND_PROCESSED)) == "refund.processed"
    assert message_type_for(event(shipment=Shipment("out_for_delivery"))) == "shipping.out_for_delivery"
    assert message_type_for(event(shipment=Shipment("in_transit"))) == "shipping.update"
    assert message_type_for(event()) is None


def test_keys_are_per_transaction_else_occurrence_and_per_shipment_status():
    failed = event(PAYMENT, PAYMENT_FAILED, payment=Payment(reference="tx-9"))
    assert message_key(failed, ORDER_ROW, 3) == "7:payment:payment_failed:tx-9"
    assert message_key(event(PAYMENT, PAYMENT_FAILED), ORDER_ROW, 3) == "7:payment:payment_failed:3"
    scan = event(shipment=Shipment("in_transit", reference="F-1"))
    assert message_key(scan, ORDER_ROW, 0) == message_key(scan, ORDER_ROW, 5) == "7:shipping:F-1:in_transit"


def test_a_scan_without_a_shipment_id_is_keyed_by_carrier_status_not_by_its_time():
    first = event(status="ready", shipment=Shipment("in_transit"))
    again = replace(first, occurred_at=AT + timedelta(hours=5))
    # The first scan moved the order to ready (its first spell there); the next hub's scan finds it ready.
    assert message_key(first, ORDER_ROW, shipping_occurrence(0, change=object())) == \
        message_key(again, ORDER_ROW, shipping_occurrence(1, change=None)) == "7:shipping-ready:0:in_transit"
    news = event(status="ready", shipment=Shipment("out_for_delivery"))
    assert message_key(news, ORDER_ROW, shipping_occurrence(1, change=None)) == "7:shipping-ready:0:out_for_delivery"
    # Reopened and shipped again: a second spell in ready, so "in transit" is news again.
    assert message_key(first, ORDER_ROW, shipping_occurrence(1, change=object())) == "7:shipping-ready:1:in_transit"


def test_data_fills_the_types_variables():
    refund = event(REFUND, REFUND_PROCESSED, total="5.00", whole_order=False, payment=Payment(method="bogus"))
    assert message_data(refund, ORDER_ROW) == {"payment": {"amount": "5.00", "method": "bogus", "reason": None}}
    assert message_data(event(PAYMENT, PAYMENT_FAILED), ORDER_ROW)["payment"]["amount"] == "99.00"
    scan = event(shipment=Shipment("in_transit", eta="2024-05-03"))
    assert message_data(scan, ORDER_ROW) == {"shipment": {"status": "In transit", "eta": "2024-05-03"}}
