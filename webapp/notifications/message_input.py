"""What a client asks to send through POST /api/v1/messages, checked into plain data: the message
type (catalog key or short name), who it is for, and the type's variables. Pure: every problem is
a MessageInputError naming the field, raised before anything is looked up or written."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webapp.customers.phones import to_e164
from webapp.notifications.routing import is_rule_routed
from webapp.templating import catalog

# The short names storefronts use, as in the examples ("password_reset"); catalog keys work too.
ALIASES = {
    "password_reset": "account.password_reset",
    "gdpr_export_ready": "gdpr.export_ready",
    "gdpr_erasure_done": "gdpr.erasure_done",
    "payment_confirmed": "payment.confirmed",
    "payment_failed": "payment.failed",
    "refund_processed": "refund.processed",
    "shipping_update": "shipping.update",
    "out_for_delivery": "shipping.out_for_delivery",
    "gift_card_issued": "gift_card.issued",
    "cart_recovery_1": "cart.recovery_1",
    "cart_recovery_2": "cart.recovery_2",
    "cart_recovery_3": "cart.recovery_3",
    "review_request": "review.request",
    "campaign_message": "campaign.message",
}
# Without these the message is useless: a password reset with no link.
REQUIRED = {"account.password_reset": ("reset.url",), "gdpr.export_ready": ("gdpr.download_url",)}
# Filled from the store's and customer's records, never by the caller.
FROM_RECORDS = ("store", "customer", "unsubscribe_url")
MAX_TEXT = 2000
MAX_KEY = 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class MessageInputError(ValueError):
    """The request cannot be sent as asked; `status` is 400 (malformed) or 422 (understood, refused)."""

    def __init__(self, field: str, problem: str, status: int = 400):
        super().__init__(f"{field}: {problem}")
        self.field, self.status = field, status


@dataclass(frozen=True)
class CustomerSpec:
    id: int | None = None
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None  # E.164
    name: str = ""
    locale: str | None = None

    @property
    def reachable(self) -> bool:
        return bool(self.email or self.phone)


@dataclass(frozen=True)
class MessageInput:
    message_type: str
    customer: CustomerSpec
    data: dict
    idempotency_key: str


def parse_message(body: Any, header_key: str | None = None) -> MessageInput:
    if not isinstance(body, dict):
        raise MessageInputError("body", "must be a JSON object")
    message_type = resolve_type(body.get("type"))
    return MessageInput(message_type, parse_customer(body.get("customer")),
                        parse_data(message_type, body.get("data")), _idempotency_key(body, header_key))


def resolve_type(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise MessageInputError("type", f"is required: one of {', '.join(ALIASES)} (or a catalog key)")
    name = name.strip()
    key = ALIASES.get(name, name)
    if is_rule_routed(key) and catalog.get(key):
        raise MessageInputError("type", f"{name} is an order status: those are sent from order events "
                                        "(POST /api/v1/events) by the Customer Notifications rules", 422)
    if catalog.get(key) is None or is_rule_routed(key):
        raise MessageInputError("type", f"unknown message type {name!r}; one of {', '.join(ALIASES)}")
    return key


def parse_customer(value: Any) -> CustomerSpec:
    if not isinstance(value, dict):
        raise MessageInputError("customer", "is required: an object with id, external_id, email or phone")
    customer_id = value.get("id")
    if customer_id is not None and (isinstance(customer_id, bool) or not isinstance(customer_id, int)
                                    or customer_id <= 0):
        raise MessageInputError("customer.id", "must be the positive integer id NotifyHub gave the customer")
    email = _text(value, "email", "customer.email")
    if email is not None and not _EMAIL.fullmatch(email):
        raise MessageInputError("customer.email", "must be an email address")
    locale = _text(value, "locale", "customer.locale")
    if locale is not None and not _LOCALE.fullmatch(locale):
        raise MessageInputError("customer.locale", "must be a BCP 47 tag such as fr or pt-BR")
    phone = _text(value, "phone", "customer.phone", limit=32)
    if phone is not None and to_e164(phone) is None:
        raise MessageInputError("customer.phone", "must be a phone number in international format, such as "
                                                  "+14155550100")
    spec = CustomerSpec(customer_id, _text(value, "external_id", "customer.external_id", limit=200),
                        email.lower() if email else None, to_e164(phone) if phone else None,
                        _text(value, "name", "customer.name", limit=200) or "", locale)
    if not (spec.id or spec.external_id or spec.reachable):
        raise MessageInputError("customer", "give the customer's id, external_id, email or phone", 422)
    return spec


def variable_names(message_type: str) -> dict[str, catalog.Variable]:
    """The variables a caller may set, by both their dotted and their flat name ("reset.url", "reset_url")."""
    names: dict[str, catalog.Variable] = {}
    for variable in catalog.get(message_type).variables:
        if variable.name.split(".")[0] not in FROM_RECORDS:
            names[variable.name] = names[variable.name.replace(".", "_")] = variable
    return names


def parse_data(message_type: str, data: Any) -> dict:
    """The type's variables as the templates see them (nested), from nested or flat names."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MessageInputError("data", "must be an object of the message's variables")
    known = variable_names(message_type)
    nested: dict = {}
    for name, value in _flatten(data):
        variable = known.get(name)
        if variable is None:
            offered = sorted(n for n in known if "." not in n)
            raise MessageInputError(f"data.{name}", f"is not a variable of {message_type}; "
                                                    f"it takes {', '.join(offered) or 'none'}")
        _put(nested, variable.name, _checked(f"data.{name}", value, variable.sample))
    missing = [n for n in REQUIRED.get(message_type, ()) if _get(nested, n) in (None, "")]
    if missing:
        raise MessageInputError(f"data.{missing[0].replace('.', '_')}", f"is required for {message_type}", 422)
    return nested


def _flatten(data: Mapping, prefix: str = "") -> list[tuple[str, Any]]:
    """{"reset": {"url": x}} and {"reset_url": x} both give ("reset.url" or "reset_url", x); a nested
    object stops at a leaf variable (lists of records stay whole)."""
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            items.extend(_flatten(value, name))
        else:
            items.append((name, value))
    return items


def _checked(field: str, value: Any, sample: Any) -> Any:
    if isinstance(sample, list):
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise MessageInputError(field, "must be a list of objects")
        return value
    if value is not None and not isinstance(value, str | int | float | bool):
        raise MessageInputError(field, "must be a string or a number")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise MessageInputError(field, f"must be at most {MAX_TEXT} characters")
    return value


def _put(tree: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def _get(tree: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


def _text(record: dict, key: str, field: str, limit: int = 254) -> str | None:
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "external_id":
        value = str(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MessageInputError(field, "must be a string")
    if len(value) > limit:
        raise MessageInputError(field, f"must be at most {limit} characters")
    return value.strip() or None


def _idempotency_key(body: dict, header_key: str | None) -> str:
    key = body.get("idempotency_key")
    if key is None:
        key = header_key
    if not isinstance(key, str) or not key.strip():
        raise MessageInputError("idempotency_key", "is required (in the body or an Idempotency-Key header), so "
                                                   "a retried request never sends twice")
    if len(key) > MAX_KEY:
        raise MessageInputError("idempotency_key", f"must be at most {MAX_KEY} characters")
    return key.strip()
