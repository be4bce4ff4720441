"""Shopify webhooks (orders, fulfillments, fulfillment events, refunds) turned into NormalizedEvents."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from webapp.events import status_mapping
from webapp.events.normalized import (
    OPTED_IN,
    OPTED_OUT,
    PAYMENT_FAILED,
    SHIPMENT_STATUSES,
    CustomerData,
    LineItem,
    MarketingConsent,
    NormalizedEvent,
    PayloadError,
    Payment,
    Shipment,
    Tracking,
    UnknownTopic,
)
from webapp.events.sources import (
    address_name,
    first_datetime,
    first_text,
    full_name,
    objects,
    optional_datetime,
    payment_card,
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
TRANSACTION_TOPIC = "order_transactions/create"
_NO_IP = "0.0.0.0"  # noqa: S104 - not an address to bind: Shopify's placeholder for "not recorded"
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
    email_marketing = _email_consent(order, customer)
    sms_marketing = _consent(customer, "sms_marketing_consent")
    opted_in = OPTED_IN in (getattr(email_marketing, "status", None), getattr(sms_marketing, "status", None))
    client = sub_object(order, "client_details", "client_details") if opted_in else {}
    return CustomerData(
        external_id=text(customer.get("id")),
        name=full_name(customer) or address_name(billing) or address_name(shipping),
        email=first_text(order.get("email"), customer.get("email")),
        phone=first_text(order.get("phone"), customer.get("phone"), billing.get("phone"), shipping.get("phone")),
        country=first_text(billing.get("country_code"), shipping.get("country_code")),
        locale=text(order.get("customer_locale")),
        email_marketing=email_marketing, sms_marketing=sms_marketing,
        # Evidence of an opt-in only.
        ip=next((ip for ip in (text(order.get("browser_ip")), text(client.get("browser_ip")))
                 if ip and ip != _NO_IP), None) if opted_in else None,
        user_agent=text(client.get("user_agent")),
    )


# Shopify's consent states that are a choice; not_subscribed, pending (double opt-in unconfirmed) and
# redacted are none, and leave the customer's consent as it is.
_CONSENT_STATES = {"subscribed": OPTED_IN, "unsubscribed": OPTED_OUT}


def _consent(customer: dict[str, Any], key: str) -> MarketingConsent | None:
    consent = customer.get(key)
    state = text(consent.get("state")) if isinstance(consent, dict) else None
    status = _CONSENT_STATES.get((state or "").lower())
    if status is None:
        return None
    level = text(consent.get("opt_in_level"))
    return MarketingConsent(status, optional_datetime(consent.get("consent_updated_at")),
                            f"Shopify {key}: {state}" + (f" ({level})" if level else ""))


def _email_consent(order: dict[str, Any], customer: dict[str, Any]) -> MarketingConsent | None:
    """email_marketing_consent since API 2022-04; before it, a ticked "accepts marketing" box (false
    is not a refusal: it is also what a shopper who never saw the box sends)."""
    if isinstance(customer.get("email_marketing_consent"), dict):
        return _consent(customer, "email_marketing_consent")
    if order.get("buyer_accepts_marketing") is True:
        return MarketingConsent(OPTED_IN, optional_datetime(order.get("created_at")),
                                "Shopify buyer_accepts_marketing: true (ticked at checkout)")
    if customer.get("accepts_marketing") is True:
        return MarketingConsent(OPTED_IN, optional_datetime(customer.get("accepts_marketing_updated_at")),
                                "Shopify customer accepts_marketing: true")
    return None


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
    return _part_event(topic, payload, order_id, canonical, lines=lines, tracking=_tracking(payload),
                       shipment=_shipment(topic, payload))


def _shipment(topic: str, payload: dict[str, Any]) -> Shipment | None:
    """The carrier's news: a fulfillment event's status, or a fulfillment's shipment_status. Both name
    the fulfillment, so the same scan told by both topics is one shipping update."""
    if topic == "fulfillment_events/create":
        status, reference = text(payload.get("status")), text(payload.get("fulfillment_id"))
    else:
        status, reference = text(payload.get("shipment_status")), text(payload.get("id"))
    if status not in SHIPMENT_STATUSES:
        return None
    return Shipment(status, description=text(payload.get("message")) if topic == "fulfillment_events/create" else None,
                    eta=text(payload.get("estimated_delivery_at")), reference=reference)


def _refund_event(topic: str, payload: dict[str, Any]) -> NormalizedEvent | None:
    order_id = _require_order_id(topic, payload)
    canonical = status_mapping.shopify_status(topic, payload)
    if canonical is None:
        return None
    total, currency = _refunded_amount(payload)
    lines = tuple(_refund_line(path, item) for path, item in objects(payload.get("refund_line_items"),
                                                                      "refund_line_items"))
    return _part_event(topic, payload, order_id, canonical, lines=lines, total=total, currency=currency,
                       note=text(payload.get("note")),
                       payment=Payment(total, _refund_gateway(payload), reference=text(payload.get("id"))))


def _refund_gateway(refund: dict[str, Any]) -> str | None:
    return next((text(t.get("gateway")) for _, t in objects(refund.get("transactions"), "transactions")
                 if text(t.get("gateway"))), None)


def _transaction_event(topic: str, payload: dict[str, Any]) -> NormalizedEvent | None:
    """A payment taken or declined. The transaction carries no customer: the order's is used."""
    order_id = _require_order_id(topic, payload)
    canonical = status_mapping.shopify_status(topic, payload)
    if canonical is None:
        return None
    amount = to_decimal(payload.get("amount", "0"), "amount")
    failed = canonical.status == PAYMENT_FAILED
    details = sub_object(payload, "payment_details", "payment_details")
    payment = Payment(amount, payment_card(details.get("credit_card_company"), details.get("credit_card_number"))
                      or text(payload.get("gateway")),
                      first_text(payload.get("message"), payload.get("error_code")) if failed else None,
                      reference=text(payload.get("id")))
    return _part_event(topic, payload, order_id, canonical, total=amount,
                       currency=text(payload.get("currency")) or "USD", payment=payment)


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
    TRANSACTION_TOPIC: _transaction_event,
}
