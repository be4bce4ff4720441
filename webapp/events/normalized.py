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


@dataclass(frozen=True)
class CustomerData:
    external_id: str | None = None
    name: str = ""
    email: str | None = None
    phone: str | None = None  # as the source sent it; normalized to E.164 on ingest
    country: str | None = None  # ISO 3166 alpha-2, helps parse national phone numbers
    locale: str | None = None  # BCP 47 such as "fr" or "pt-BR", when the source knows it


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
