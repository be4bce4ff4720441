"""The one shape every source's event is turned into before anything else looks at it.

Pure data: sources (webapp/events/sources/) build it, the ingest step stores it, the planner
reads it. Status codes are the canonical ones from webapp.vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

# Event kinds and the payment / refund statuses, from the one vocabulary (re-exported for the sources).
from webapp.vocabulary import (  # noqa: F401
    INVOICE,
    ORDER,
    PAYMENT,
    PAYMENT_CONFIRMED,
    PAYMENT_FAILED,
    REFUND,
    REFUND_PROCESSED,
)


class UnknownTopic(ValueError):
    """The source sent a topic/event type we do not handle; answered 202 and logged."""


class PayloadError(ValueError):
    """The payload is malformed or lacks what the event needs; answered 400, nothing stored."""


# Marketing consent as the consent vocabulary words it (webapp.consent sits above this module).
OPTED_IN, OPTED_OUT = "opted_in", "opted_out"

# Carrier statuses that make a shipping update for the customer, as they read in a message when the
# carrier gave no words of its own. Label and pick-up scans before the carrier has the parcel are not news.
SHIPMENT_STATUSES = {
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "attempted_delivery": "Delivery attempted",
    "ready_for_pickup": "Ready for pickup",
    "delayed": "Delayed",
}
OUT_FOR_DELIVERY = "out_for_delivery"


@dataclass(frozen=True)
class MarketingConsent:
    """An explicit marketing choice the source recorded for one channel. Sources carry only explicit
    states: "not subscribed" or no field at all is no choice and leaves consent as it is."""

    status: str  # OPTED_IN or OPTED_OUT
    at: datetime | None = None  # when the shopper chose, per the source; None when it does not say
    detail: str = ""  # the source's own words, kept in the consent history


@dataclass(frozen=True)
class CustomerData:
    external_id: str | None = None
    name: str = ""
    email: str | None = None
    phone: str | None = None  # as the source sent it; normalized to E.164 on ingest
    country: str | None = None  # ISO 3166 alpha-2, helps parse national phone numbers
    locale: str | None = None  # BCP 47 such as "fr" or "pt-BR", when the source knows it
    email_marketing: MarketingConsent | None = None
    sms_marketing: MarketingConsent | None = None
    # The checkout's browser: evidence kept with an opt-in.
    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class LineItem:
    name: str
    quantity: int
    price: Decimal
    sku: str | None = None


@dataclass(frozen=True)
class Tracking:
    carrier: str | None = None
    number: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Payment:
    """What a payment or refund event says about the money, for the customer's message."""

    amount: Decimal | None = None  # None: the order's total
    method: str | None = None  # "Visa •••• 4242", "PayPal", "Direct Bank Transfer"
    reason: str | None = None  # why it failed, in the gateway's words
    reference: str | None = None  # the payment's own id at the source (a Shopify transaction or refund)


@dataclass(frozen=True)
class Shipment:
    """A carrier's news about a parcel on its way (not delivered: that is the order's status)."""

    status: str  # a SHIPMENT_STATUSES code
    description: str | None = None  # in the carrier's words: "Departed facility"
    eta: str | None = None  # ISO 8601 date or date-time
    reference: str | None = None  # the shipment's id at the source (Shopify's fulfillment id)


@dataclass(frozen=True)
class NormalizedEvent:
    source: str  # catalog source code: shopify, woocommerce, bigcommerce, cto, api, manual, ...
    kind: str  # ORDER, INVOICE, PAYMENT or REFUND
    external_id: str  # the order's (or invoice's) id in the source system
    number: str  # what the customer sees, e.g. "#1001"
    status: str  # canonical status code for kind
    occurred_at: datetime  # when it happened at the source (timezone-aware); orders never move back in time
    topic: str  # the source's own name for the event, e.g. "orders/cancelled"
    customer: CustomerData = field(default_factory=CustomerData)
    lines: tuple[LineItem, ...] = ()
    total: Decimal = Decimal("0")
    currency: str = "USD"
    tracking: Tracking | None = None
    note: str | None = None
    order_external_id: str | None = None  # for invoices: the order they belong to, if any
    # False for events about a part of the order (a fulfillment, a refund): their lines and total
    # are the part's, and must not replace the order's.
    whole_order: bool = True
    payment: Payment | None = None  # payment and refund events
    shipment: Shipment | None = None  # carrier scans on the way: a shipping update for the customer
    # True when the source sends the whole order again on every edit (WooCommerce, BigCommerce): a
    # payment status it reports again, with nothing in between, is the same news.
    repeats_state: bool = False
