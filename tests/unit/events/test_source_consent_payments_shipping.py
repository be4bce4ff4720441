"""What the sources carry for routing and consent: Shopify's checkout marketing consent (new and
legacy fields), payment transactions, refunds' gateway, carriers' shipping news; WooCommerce and
BigCommerce payment details; the API's payment and shipment objects."""
import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from webapp.events.normalized import (
    OPTED_IN,
    OPTED_OUT,
    PAYMENT,
    PAYMENT_CONFIRMED,
    PAYMENT_FAILED,
    MarketingConsent,
    PayloadError,
    Payment,
    Shipment,
)
from webapp.events.sources.api import normalize_api_event
from webapp.events.sources.bigcommerce import normalize_bigcommerce_order
from webapp.events.sources.shopify import normalize_shopify
from webapp.events.sources.woocommerce import normalize_woocommerce

FIXTURES = Path(__file__).parents[2] / "fixtures"
SHOPIFY_ORDER = json.loads((FIXTURES / "shopify" / "order.json").read_text())["order"]
WOO_ORDER = json.loads((FIXTURES / "woocommerce" / "order-processing.json").read_text())
TRANSACTION = {"id": 389404469, "order_id": 450789469, "kind": "sale", "gateway": "bogus", "status": "success",
               "message": "Bogus Gateway: Forced success", "created_at": "2024-05-01T10:00:00-04:00",
               "processed_at": "2024-05-01T10:00:01-04:00", "amount": "409.94", "currency": "USD",
               "payment_details": {"credit_card_company": "Visa", "credit_card_number": "•••• •••• •••• 4242"}}


def shopify_order(**customer_fields):
    order = copy.deepcopy(SHOPIFY_ORDER)
    order["customer"].update(customer_fields)
    return order


def test_subscribed_email_and_sms_consent_are_opt_ins_with_their_time_and_the_checkout_browser():
    order = shopify_order(
        email_marketing_consent={"state": "subscribed", "opt_in_level": "confirmed_opt_in",
                                 "consent_updated_at": "2024-05-01T10:00:00-04:00"},
        sms_marketing_consent={"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": None})
    order["client_details"].update(browser_ip="203.0.113.9", user_agent="Mozilla/5.0")
    customer = normalize_shopify("orders/create", order).customer
    assert customer.email_marketing == MarketingConsent(
        OPTED_IN, datetime(2024, 5, 1, 14, 0, tzinfo=UTC),
        "Shopify email_marketing_consent: subscribed (confirmed_opt_in)")
    assert customer.sms_marketing.status == OPTED_IN and customer.sms_marketing.at is None
    assert (customer.ip, customer.user_agent) == ("203.0.113.9", "Mozilla/5.0")


def test_unsubscribed_is_an_opt_out_and_other_states_are_no_choice():
    unsubscribed = shopify_order(email_marketing_consent={"state": "unsubscribed"})
    assert normalize_shopify("orders/create", unsubscribed).customer.email_marketing.status == OPTED_OUT
    for state in ("not_subscribed", "pending", "redacted", None):
        order = shopify_order(email_marketing_consent={"state": state}, sms_marketing_consent={"state": state})
        customer = normalize_shopify("orders/create", {**order, "buyer_accepts_marketing": True}).customer
        assert (customer.email_marketing, customer.sms_marketing, customer.ip) == (None, None, None)


def test_legacy_accepts_marketing_true_opts_in_and_false_says_nothing():
    assert normalize_shopify("orders/create", shopify_order()).customer.email_marketing is None  # the fixture
    ticked = normalize_shopify("orders/create", {**shopify_order(), "buyer_accepts_marketing": True}).customer
    assert ticked.email_marketing.status == OPTED_IN
    assert ticked.email_marketing.at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)  # the checkout
    assert ticked.ip is None  # the fixture's 0.0.0.0 is "not recorded"
    customer_level = normalize_shopify("orders/create", shopify_order(
        accepts_marketing=True, accepts_marketing_updated_at="2020-01-01T00:00:00Z")).customer
    assert customer_level.email_marketing.at == datetime(2020, 1, 1, tzinfo=UTC)


def test_malformed_consent_time_is_no_time_not_a_refused_webhook():
    order = shopify_order(email_marketing_consent={"state": "subscribed", "consent_updated_at": "yesterday"})
    assert normalize_shopify("orders/create", order).customer.email_marketing.at is None


def test_successful_sale_transaction_is_a_payment_with_its_card():
    event = normalize_shopify("order_transactions/create", dict(TRANSACTION))
    assert (event.kind, event.status, event.external_id) == (PAYMENT, PAYMENT_CONFIRMED, "450789469")
    assert event.payment == Payment(Decimal("409.94"), "Visa •••• 4242", None, "389404469")
    assert not event.whole_order and event.occurred_at == datetime(2024, 5, 1, 14, 0, 1, tzinfo=UTC)


def test_failed_transaction_carries_the_gateways_reason():
    declined = {**TRANSACTION, "status": "failure", "message": "Your card was declined.", "payment_details": None}
    event = normalize_shopify("order_transactions/create", declined)
    assert (event.status, event.payment.reason, event.payment.method) == (
        PAYMENT_FAILED, "Your card was declined.", "bogus")


@pytest.mark.parametrize(("kind", "status"), [("authorization", "success"), ("refund", "success"),
                                              ("void", "success"), ("sale", "pending")])
def test_other_transactions_change_nothing(kind, status):
    assert normalize_shopify("order_transactions/create", {**TRANSACTION, "kind": kind, "status": status}) is None


def test_transaction_without_order_is_refused():
    with pytest.raises(PayloadError, match="order_id"):
        normalize_shopify("order_transactions/create", {**TRANSACTION, "order_id": None})


def test_refund_carries_its_gateway():
    refund = {"order_id": 1, "created_at": "2024-05-02T10:00:00Z",
              "transactions": [{"kind": "refund", "status": "success", "amount": "5.00",
                                "gateway": "shopify_payments"}]}
    assert normalize_shopify("refunds/create", {**refund, "id": 77}).payment == Payment(
        Decimal("5.00"), "shopify_payments", reference="77")


FULFILLMENT_EVENT = {"id": 1, "fulfillment_id": 255858046, "order_id": 450789469, "status": "out_for_delivery",
                     "message": "On the truck", "happened_at": "2024-05-03T07:00:00Z",
                     "estimated_delivery_at": "2024-05-03T18:00:00Z"}


def test_carrier_scan_is_a_shipment_of_its_fulfillment():
    event = normalize_shopify("fulfillment_events/create", dict(FULFILLMENT_EVENT))
    assert event.shipment == Shipment("out_for_delivery", "On the truck", "2024-05-03T18:00:00Z", "255858046")
    label = normalize_shopify("fulfillment_events/create", {**FULFILLMENT_EVENT, "status": "label_printed"})
    assert label.shipment is None  # not news for the customer yet


def test_fulfillment_update_with_a_shipment_status_names_the_same_shipment():
    fulfillment = {"id": 255858046, "order_id": 450789469, "status": "success", "shipment_status": "in_transit",
                   "updated_at": "2024-05-02T07:00:00Z", "tracking_company": "UPS", "tracking_number": "1Z2345"}
    event = normalize_shopify("fulfillments/update", fulfillment)
    assert event.shipment == Shipment("in_transit", reference="255858046")
    assert normalize_shopify("fulfillments/create", {**fulfillment, "shipment_status": None}).shipment is None


def test_woocommerce_failed_order_is_a_payment_failure_by_its_method_and_carries_no_consent():
    event = normalize_woocommerce("order.updated", {**copy.deepcopy(WOO_ORDER), "status": "failed"})
    assert (event.kind, event.status) == (PAYMENT, PAYMENT_FAILED)
    assert event.payment == Payment(method="Direct Bank Transfer") and event.repeats_state
    assert event.customer.email_marketing is None and event.customer.sms_marketing is None
    assert normalize_woocommerce("order.updated", copy.deepcopy(WOO_ORDER)).payment is None


def test_bigcommerce_partial_refund_is_of_the_refunded_amount():
    order = {"id": 100, "status_id": 14, "date_modified": "Tue, 20 Nov 2012 00:00:00 +0000", "total_inc_tax": "50.00",
             "refunded_amount": "12.00", "payment_method": "Credit Card", "billing_address": {"email": "a@b.example"}}
    event = normalize_bigcommerce_order("store/order/statusUpdated", order)
    assert event.payment == Payment(Decimal("12.00"), "Credit Card") and event.repeats_state
    declined = normalize_bigcommerce_order("store/order/statusUpdated", {**order, "status_id": 6})
    assert declined.payment == Payment(None, "Credit Card")


def test_api_payment_and_shipping_update_events():
    payment = normalize_api_event({"type": "payment.failed", "order": {"id": "A-1", "total": "20.00"},
                                   "payment": {"method": "PayPal", "reason": "Insufficient funds"}})
    assert payment.payment == Payment(None, "PayPal", "Insufficient funds")
    shipping = normalize_api_event({"type": "shipping.update", "order": {"id": "A-1"},
                                    "shipment": {"status": "out_for_delivery", "eta": "2024-05-03", "id": "P-9"}})
    assert (shipping.kind, shipping.status) == ("order", "ready")
    assert shipping.shipment == Shipment("out_for_delivery", None, "2024-05-03", "P-9")


@pytest.mark.parametrize(("body", "message"), [
    ({"type": "shipping.update", "order": {"id": "A"}}, "shipment: is required"),
    ({"type": "shipping.update", "order": {"id": "A"}, "shipment": {"status": "lost"}}, "shipment.status: must be"),
    ({"type": "shipping.update", "order": {"id": "A"}, "shipment": {"status": "in_transit", "eta": "soon"}},
     "shipment.eta"),
    ({"type": "payment.failed", "order": {"id": "A"}, "payment": {"amount": "lots"}}, "payment.amount"),
])
def test_api_refuses_bad_payment_and_shipment_objects(body, message):
    with pytest.raises(PayloadError, match=message):
        normalize_api_event(body)
