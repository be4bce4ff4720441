"""The one vocabulary of events, rules and pages: order sources, event kinds, order and invoice statuses.

Codes are stored in the database and used in URLs and form fields; labels are what merchants
see. Order matters: it is the order the settings page shows.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    code: str
    label: str


# Event kinds. Order and invoice events carry one of the statuses below; payment and refund
# events carry one of the PAYMENT_/REFUND_ codes and only add to the order's history.
ORDER = "order"
INVOICE = "invoice"
PAYMENT = "payment"
REFUND = "refund"
PAYMENT_CONFIRMED = "payment_confirmed"
PAYMENT_FAILED = "payment_failed"
REFUND_PROCESSED = "refund_processed"

ORDER_SOURCES: tuple[Choice, ...] = (
    Choice("cto", "CTO"),
    Choice("fanvista", "Fanvista"),
    Choice("shopify", "Shopify"),
    Choice("bigcommerce", "BigCommerce"),
    Choice("woocommerce", "WooCommerce"),
    Choice("retailcloud_online", "retailcloud Online"),
    Choice("manual", "Manual"),
    Choice("api", "API"),
)

ORDER_STATUSES: tuple[Choice, ...] = (
    Choice("initiated", "Initiated"),
    Choice("sent_for_processing", "Sent for Processing"),
    Choice("processing", "Processing"),
    Choice("ready", "Ready"),
    Choice("delivered", "Delivered"),
    Choice("cancelled", "Cancelled"),
    Choice("returned", "Returned"),
)

INVOICE_STATUSES: tuple[Choice, ...] = (
    Choice("closed", "Closed"),
    Choice("cancelled", "Cancelled"),
)

# Invoice rules are not per source; they are stored with this source code.
INVOICE_SOURCE = Choice("invoice", "Invoice")

_LABELS = {c.code: c.label for c in ORDER_SOURCES + (INVOICE_SOURCE,)}
_ORDER_STATUS_LABELS = {c.code: c.label for c in ORDER_STATUSES}
_INVOICE_STATUS_LABELS = {c.code: c.label for c in INVOICE_STATUSES}


def source_label(code: str) -> str:
    return _LABELS.get(code, code)


def status_label(kind: str, code: str) -> str:
    labels = _INVOICE_STATUS_LABELS if kind == INVOICE else _ORDER_STATUS_LABELS
    return labels.get(code, code)



def is_status(kind: str, code: str) -> bool:
    statuses = INVOICE_STATUSES if kind == INVOICE else ORDER_STATUSES
    return any(c.code == code for c in statuses)
