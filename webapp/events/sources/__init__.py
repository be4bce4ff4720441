"""One module per order source turning its payloads into NormalizedEvents, plus the parsing they share."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from webapp.events.normalized import CustomerData, PayloadError

# Sources are other people's systems: the fields an event cannot exist without (ids, status, time) are
# checked strictly and named in the error, while cosmetic fields of an odd type are read as absent
# rather than rejecting a webhook the merchant cannot resend.


def text(value: Any) -> str | None:
    """The value as stripped text, or None when absent, blank or not a scalar."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    return str(value).strip() or None


def first_text(*values: Any) -> str | None:
    return next((t for t in map(text, values) if t), None)


def full_name(record: Mapping[str, Any]) -> str:
    return " ".join(filter(None, (text(record.get("first_name")), text(record.get("last_name")))))


def address_name(address: Mapping[str, Any]) -> str:
    return text(address.get("name")) or full_name(address)


def require_id(value: Any, path: str, hint: str) -> str:
    """An id as text; a missing one is named with what the sender should do about it."""
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise PayloadError(f"{path}: missing or not an id; {hint}")
    return str(value).strip()


def sub_object(record: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
    """A nested object, {} when absent or null."""
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{path}: must be an object, got {type(value).__name__}")
    return value


def objects(value: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """(path, object) for each entry of a list of objects; [] when absent or null."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{path}: must be a list, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise PayloadError(f"{path}[{i}]: must be an object, got {type(item).__name__}")
    return [(f"{path}[{i}]", item) for i, item in enumerate(value)]


def as_utc(moment: datetime) -> datetime:
    """Aware and in UTC; a time without an offset is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_datetime(value: Any, path: str) -> datetime:
    """An ISO 8601 date-time, as an aware datetime in UTC."""
    try:
        return as_utc(datetime.fromisoformat(value.strip()))
    except (AttributeError, ValueError, OverflowError):
        raise PayloadError(f"{path}: must be an ISO 8601 date-time such as 2024-05-01T12:30:00Z") from None


def optional_datetime(value: Any) -> datetime | None:
    """A cosmetic time (a consent's date): None when absent or malformed, never a refused webhook."""
    try:
        return to_datetime(value, "") if isinstance(value, str) and value.strip() else None
    except PayloadError:
        return None


def payment_card(company: Any, number: Any) -> str | None:
    """ "Visa •••• 4242" from a card brand and a masked number such as "XXXX-XXXX-XXXX-4242"."""
    digits = "".join(c for c in (text(number) or "") if c.isdigit())
    brand = text(company)
    if not digits:
        return brand
    return f"{brand or 'Card'} •••• {digits[-4:]}"


def first_datetime(record: Mapping[str, Any], keys: tuple[str, ...]) -> datetime:
    """The first of these time fields that is present: sources differ in which ones they send."""
    for key in keys:
        if record.get(key) not in (None, ""):
            return to_datetime(record[key], key)
    raise PayloadError(f"{' / '.join(keys)}: missing; the event needs the time the change happened")


MAX_AMOUNT = Decimal("1e10")  # the money columns hold 12 digits with 2 decimals


def to_decimal(value: Any, path: str) -> Decimal:
    """Money from a number or numeric string; floats go through str so 0.1 stays 0.1."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PayloadError(f"{path}: must be a number or a numeric string")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise PayloadError(f"{path}: must be a number or a numeric string") from None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise PayloadError(f"{path}: must be a finite number below 10,000,000,000")
    return amount


def to_quantity(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(f"{path}: must be a non-negative integer")
    return value


def billing_customer(order: Mapping[str, Any], billing_key: str, country_key: str,
                     locale: str | None = None) -> CustomerData:
    """The customer from an order's billing address, as WooCommerce and BigCommerce send it;
    their customer_id 0 means a guest checkout."""
    billing = sub_object(order, billing_key, billing_key)
    customer_id = text(order.get("customer_id"))
    return CustomerData(
        external_id=None if customer_id == "0" else customer_id,
        name=full_name(billing),
        email=text(billing.get("email")),
        phone=text(billing.get("phone")),
        country=text(billing.get(country_key)),
        locale=locale,
    )
