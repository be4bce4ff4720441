"""A promotion in plain words, as the list and the editor show it (pure): "10% off Shoes when the
cart is over 100.00, for Wholesale customers, until 31 Dec". Reads the stored (API) form, so it
describes a draft the editor has not saved yet as well."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SCHEDULED, ACTIVE, EXPIRED, DISABLED = "scheduled", "active", "expired", "disabled"


def status(disabled: bool, starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> str:
    if disabled:
        return DISABLED
    if ends_at and now >= ends_at:
        return EXPIRED
    if starts_at and now < starts_at:
        return SCHEDULED
    return ACTIVE


def describe(conditions: list[dict], actions: list[dict], starts_at: datetime | None = None,
             ends_at: datetime | None = None, timezone: str = "UTC") -> str:
    what = " and ".join(_action(a) for a in actions) or "No discount yet"
    when = [text for text in (_condition(c) for c in conditions) if text]
    parts = [what[0].upper() + what[1:]]
    cart = [t for t in when if not t.startswith("for ") and not t.startswith("with ")]
    if cart:
        parts[0] += " when " + " and ".join(cart)
    parts += [t for t in when if t.startswith("for ") or t.startswith("with ")]
    zone = ZoneInfo(timezone)
    if starts_at:
        parts.append(f"from {starts_at.astimezone(zone):%-d %b %Y %H:%M}")
    if ends_at:
        parts.append(f"until {ends_at.astimezone(zone):%-d %b %Y %H:%M}")
    return ", ".join(parts)


def _targets(rule: dict) -> str:
    names = [*(rule.get("products") or ()), *(rule.get("variants") or ()), *(rule.get("categories") or ())]
    return ", ".join(names) if names else "every item"


def _action(rule: dict) -> str:
    kind = rule.get("type")
    if kind == "percentage_off_cart":
        return f"{rule.get('percent')}% off the cart"
    if kind == "percentage_off_items":
        return f"{rule.get('percent')}% off {_targets(rule)}"
    if kind == "fixed_off_cart":
        return f"{rule.get('amount')} off the cart"
    if kind == "fixed_off_items":
        each = " each" if rule.get("per_unit", True) is not False else " once"
        return f"{rule.get('amount')} off {_targets(rule)}{each}"
    if kind == "free_shipping":
        limit = rule.get("max_shipping")
        return f"free shipping (up to {limit})" if limit else "free shipping"
    if kind == "buy_x_get_y":
        buy, get = rule.get("buy") or {}, rule.get("get") or {}
        percent = rule.get("percent", 100)
        reward = "free" if str(percent) in ("100", "100.0") else f"at {percent}% off"
        times = f", up to {rule['max_applications']} times" if rule.get("max_applications") else ""
        return (f"buy {buy.get('quantity', 1)} of {_targets(buy)}, get {get.get('quantity', 1)} of "
                f"{_targets(get)} {reward}{times}")
    if kind == "free_product":
        return f"a free {rule.get('product')}" + (f" ({rule['variant']})" if rule.get("variant") else "")
    if kind == "bundle":
        items = " + ".join(f"{i.get('quantity', 1)} × {i.get('product')}" + (f" ({i['variant']})" if i.get("variant")
                                                                             else "")
                           for i in rule.get("items") or ())
        off = f"{rule['percent']}% off" if rule.get("percent") is not None else f"{rule.get('amount')} off"
        return f"{off} each set of {items}"
    return str(kind)


def _condition(rule: dict) -> str:
    kind = rule.get("type")
    if kind == "subtotal_above":
        return f"the cart is over {rule.get('amount')}"
    if kind == "subtotal_below":
        return f"the cart is under {rule.get('amount')}"
    if kind == "customer_group":
        return f"for {rule.get('group')} customers"
    if kind == "first_order":
        return "for first orders"
    if kind == "coupon":
        return "with a coupon code"
    if kind in ("product_in_cart", "variant_in_cart", "category_in_cart"):
        key = kind.split("_", 1)[0]
        need = rule.get("min_quantity", 1)
        return f"the cart holds {need} × {rule.get(key)}" if need != 1 else f"the cart holds {rule.get(key)}"
    return ""
