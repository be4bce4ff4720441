"""A promotion as the API gives it (`POST /api/v1/promotions`), parsed into engine rules or problems
that name the field at fault ("conditions[1].amount", "actions[0].percent"). Pure."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from webapp.promotions.engine import Rule
from webapp.promotions.money import parse_amount

CONDITIONS = ("subtotal_above", "subtotal_below", "customer_group", "product_in_cart", "variant_in_cart",
              "category_in_cart", "first_order", "coupon")
ACTIONS = ("percentage_off_cart", "percentage_off_items", "fixed_off_cart", "fixed_off_items", "free_shipping",
           "buy_x_get_y", "free_product")
FIELDS = ("name", "priority", "exclusive", "starts_at", "ends_at", "conditions", "actions")
MAX_RULES = 20


@dataclass(frozen=True)
class Problem:
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "message": self.message}


@dataclass
class PromotionInput:
    name: str = ""
    priority: int = 100
    exclusive: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    conditions: list[Rule] = field(default_factory=list)
    actions: list[Rule] = field(default_factory=list)


def parse(data: object, currency: str, timezone: str = "UTC") -> tuple[PromotionInput, list[Problem]]:
    if not isinstance(data, dict):
        return PromotionInput(), [Problem("body", "send a JSON object with the promotion's fields")]
    parsed, problems = PromotionInput(), []
    parse_common(data, parsed, FIELDS, "promotions", problems)
    parsed.starts_at = _moment(data.get("starts_at"), "starts_at", timezone, problems)
    parsed.ends_at = _moment(data.get("ends_at"), "ends_at", timezone, problems)
    if parsed.starts_at and parsed.ends_at and parsed.ends_at <= parsed.starts_at:
        problems.append(Problem("ends_at", "ends_at must be after starts_at"))
    parsed.conditions = _rules(data.get("conditions", []), "conditions", CONDITIONS, currency, problems)
    parsed.actions = _rules(data.get("actions"), "actions", ACTIONS, currency, problems)
    if not parsed.actions and not any(p.field.startswith("actions") for p in problems):
        problems.append(Problem("actions", "a promotion needs at least one action"))
    return parsed, problems


def parse_common(data: dict, parsed, fields: tuple[str, ...], what: str, problems: list[Problem]) -> None:
    """Unknown fields, name, priority and exclusive, as promotions and bundles share them, set on
    `parsed` when valid."""
    unknown = sorted(set(data) - set(fields))
    if unknown:
        problems.append(Problem(unknown[0], f"unknown field “{unknown[0]}”; {what} have {', '.join(fields)}"))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.append(Problem("name", "name is required, at most 200 characters"))
    else:
        parsed.name = name.strip()
    priority = data.get("priority", 100)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 10_000:
        problems.append(Problem("priority", "priority is a whole number from 0 (first) to 10000"))
    else:
        parsed.priority = priority
    exclusive = data.get("exclusive", False)
    if not isinstance(exclusive, bool):
        problems.append(Problem("exclusive", "exclusive is true or false"))
    else:
        parsed.exclusive = exclusive


def _moment(raw: object, name: str, timezone: str, problems: list[Problem]) -> datetime | None:
    if raw in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        problems.append(Problem(name, f"{name} must be a date and time like 2026-12-24T09:00"))
        return None
    if moment.tzinfo is None:  # in the store's timezone, as the issue asks
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


def _rules(raw: object, where: str, kinds: tuple[str, ...], currency: str, problems: list[Problem]) -> list[Rule]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_RULES:
        problems.append(Problem(where, f"{where} must be a list of at most {MAX_RULES}"))
        return []
    rules = []
    for index, item in enumerate(raw):
        here = f"{where}[{index}]"
        if not isinstance(item, dict) or item.get("type") not in kinds:
            problems.append(Problem(f"{here}.type", f"type must be one of {', '.join(kinds)}"))
            continue
        try:
            rules.append(Rule(item["type"], _params(item, currency)))
        except _Bad as bad:
            problems.append(Problem(f"{here}.{bad.field}", bad.message))
    return rules


class _Bad(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field, self.message = field_name, message


def _params(item: dict, currency: str) -> dict:
    kind = item["type"]
    if kind in ("subtotal_above", "subtotal_below", "fixed_off_cart"):
        return {"amount": _amount(item, "amount", currency)}
    if kind == "customer_group":
        return {"group": _text(item, "group")}
    if kind in ("product_in_cart", "variant_in_cart", "category_in_cart"):
        key = {"product_in_cart": "product", "variant_in_cart": "variant", "category_in_cart": "category"}[kind]
        return {"value": _text(item, key), "min_quantity": _count(item, "min_quantity", 1)}
    if kind in ("first_order", "coupon"):
        return {}
    if kind in ("percentage_off_cart",):
        return {"percent": _percent(item)}
    if kind == "percentage_off_items":
        return {"percent": _percent(item), **_targets(item)}
    if kind == "fixed_off_items":
        return {"amount": _amount(item, "amount", currency), "per_unit": item.get("per_unit", True) is not False,
                **_targets(item)}
    if kind == "free_shipping":
        limit = item.get("max_shipping")
        return {"max_shipping": _amount(item, "max_shipping", currency)} if limit is not None else {}
    if kind == "buy_x_get_y":
        return {"buy": _set(item, "buy"), "get": _set(item, "get"), "percent": _percent(item, default=100),
                **({"max_applications": _count(item, "max_applications", 1)}
                   if item.get("max_applications") is not None else {})}
    variant = item.get("variant")
    if variant is not None and (not isinstance(variant, str) or not variant.strip()):
        raise _Bad("variant", "variant is a name, or left out")
    return {"product": _text(item, "product"), "variant": variant.strip() if variant else None,
            "quantity": _count(item, "quantity", 1)}


def _amount(item: dict, key: str, currency: str) -> Decimal:
    try:
        return parse_amount(item.get(key), currency)
    except ValueError as error:
        raise _Bad(key, str(error)) from None


def _percent(item: dict, default: int | None = None) -> Decimal:
    try:
        return parse_percent(item.get("percent", default))
    except ValueError as error:
        raise _Bad("percent", str(error)) from None


def parse_percent(raw: object) -> Decimal:
    """A percentage above 0 and at most 100 (a number or a decimal string); ValueError otherwise."""
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, TypeError):
        raise ValueError("percent is a number above 0, at most 100") from None
    if isinstance(raw, bool) or raw is None or not value.is_finite() or not 0 < value <= 100:
        raise ValueError("percent is a number above 0, at most 100")
    return value


def _text(item: dict, key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise _Bad(key, f"{key} is required")
    return value.strip()


def _count(item: dict, key: str, default: int) -> int:
    value = item.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000:
        raise _Bad(key, f"{key} is a whole number from 1 to 10000")
    return value


def _targets(item: dict) -> dict:
    found = {}
    for key in ("products", "variants", "categories"):
        values = item.get(key)
        if values is None:
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            raise _Bad(key, f"{key} is a list of names")
        found[key] = [v.strip() for v in values]
    return found


def _set(item: dict, key: str) -> dict:
    raw = item.get(key)
    if not isinstance(raw, dict):
        raise _Bad(key, f"{key} is an object with quantity and the products, variants or categories it takes")
    try:
        return {"quantity": _count(raw, "quantity", 1), **_targets(raw)}
    except _Bad as bad:
        raise _Bad(f"{key}.{bad.field}", bad.message) from None
