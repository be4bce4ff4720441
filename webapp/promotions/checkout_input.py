"""A checkout as the API gives it (`POST /api/v1/checkout/price` and `…/complete`): currency,
customer, lines, shipping, entered codes, gift cards and whether to use store credit. Parsed into
the engine's cart and shopper, or problems naming the field ("lines[2].unit_price"). Pure."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from webapp.promotions.engine import Cart, Line, Shopper
from webapp.promotions.money import MAX_AMOUNT, ZERO, parse_amount
from webapp.promotions.promotion_input import Problem

FIELDS = ("currency", "customer", "lines", "shipping", "codes", "gift_cards", "store_credit", "number")
MAX_LINES, MAX_CODES, MAX_CARDS = 500, 20, 10
_CURRENCY = re.compile(r"[A-Z]{3}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# A free_product gift line from an earlier answer, sent back with the cart: the engine adds it again
# while its promotion's conditions hold and leaves it out when they stop holding.
_GIFT_LINE = re.compile(r"gift-(\d+)")


@dataclass
class CheckoutInput:
    currency: str = "USD"
    email: str | None = None
    cart: Cart = field(default_factory=lambda: Cart("USD", ()))
    shopper: Shopper = field(default_factory=Shopper)
    codes: list[str] = field(default_factory=list)
    gift_cards: list[str] = field(default_factory=list)
    store_credit: bool = False
    number: str | None = None


def parse(data: object, default_currency: str, *, needs_number: bool = False) -> tuple[CheckoutInput, list[Problem]]:
    if not isinstance(data, dict):
        return CheckoutInput(), [Problem("body", "send a JSON object with the checkout's fields")]
    problems: list[Problem] = []
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        problems.append(Problem(unknown[0], f"unknown field “{unknown[0]}”; a checkout has {', '.join(FIELDS)}"))
    currency = data.get("currency", default_currency)
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency.upper()):
        problems.append(Problem("currency", "currency is a three-letter ISO 4217 code such as USD"))
        currency = default_currency
    currency = currency.upper()
    email, shopper = _customer(data.get("customer"), problems)
    lines = _lines(data.get("lines"), currency, problems)
    shipping = _shipping(data.get("shipping"), currency, problems)
    if sum((line.subtotal for line in lines), shipping) > MAX_AMOUNT:
        problems.append(Problem("lines", f"the cart comes to more than {MAX_AMOUNT:,}"))
    parsed = CheckoutInput(currency=currency, email=email, cart=Cart(currency, tuple(lines), shipping),
                           shopper=shopper, codes=_strings(data.get("codes"), "codes", MAX_CODES, problems),
                           gift_cards=_strings(data.get("gift_cards"), "gift_cards", MAX_CARDS, problems))
    if not isinstance(data.get("store_credit", False), bool):
        problems.append(Problem("store_credit", "store_credit is true or false"))
    else:
        parsed.store_credit = data.get("store_credit", False)
    if parsed.store_credit and not email:
        problems.append(Problem("customer.email", "store credit belongs to a customer: give their email"))
    number = data.get("number")
    if needs_number and (not isinstance(number, str) or not number.strip() or len(number) > 64):
        problems.append(Problem("number", "number is the order's number, 1 to 64 characters"))
    elif isinstance(number, str):
        parsed.number = number.strip()
    return parsed, problems


def _customer(raw: object, problems: list[Problem]) -> tuple[str | None, Shopper]:
    if raw is None:
        return None, Shopper()
    if not isinstance(raw, dict):
        problems.append(Problem("customer", "customer is an object with email, groups and orders_count"))
        return None, Shopper()
    email = raw.get("email")
    if email is not None and (not isinstance(email, str) or not _EMAIL.fullmatch(email.strip()) or len(email) > 254):
        problems.append(Problem("customer.email", "customer.email is not an email address"))
        email = None
    groups = raw.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups) or len(groups) > 50:
        problems.append(Problem("customer.groups", "customer.groups is a list of group names"))
        groups = []
    count = raw.get("orders_count", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        problems.append(Problem("customer.orders_count", "customer.orders_count is a whole number, 0 or more"))
        count = 0
    return (email.strip().lower() if email else None), Shopper(frozenset(g.strip() for g in groups), count)


def _lines(raw: object, currency: str, problems: list[Problem]) -> list[Line]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LINES:
        problems.append(Problem("lines", f"lines is a list of 1 to {MAX_LINES} cart lines"))
        return []
    lines, seen = [], set()
    for index, item in enumerate(raw):
        here = f"lines[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(here, "a line is an object with id, product, quantity and unit_price"))
            continue
        line = _line(item, here, currency, problems)
        if line is None:
            continue
        if line.id in seen:
            problems.append(Problem(f"{here}.id", f"line id “{line.id}” appears twice"))
            continue
        seen.add(line.id)
        lines.append(line)
    return lines


def _line(item: dict, here: str, currency: str, problems: list[Problem]) -> Line | None:
    texts = {}
    for key in ("id", "product"):
        value = item.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            problems.append(Problem(f"{here}.{key}", f"{key} is required"))
            return None
        texts[key] = value.strip()
    variant = item.get("variant")
    if variant is not None and not isinstance(variant, str | int):
        problems.append(Problem(f"{here}.variant", "variant is a name or id"))
        return None
    categories = item.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        problems.append(Problem(f"{here}.categories", "categories is a list of names"))
        return None
    quantity = item.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 10_000:
        problems.append(Problem(f"{here}.quantity", "quantity is a whole number from 1 to 10000"))
        return None
    try:
        price = parse_amount(item.get("unit_price"), currency)
    except ValueError as error:
        problems.append(Problem(f"{here}.unit_price", str(error)))
        return None
    gift = _GIFT_LINE.fullmatch(texts["id"]) if price == 0 else None
    return Line(texts["id"], texts["product"], str(variant) if variant is not None else None, quantity, price,
                frozenset(c.strip() for c in categories if c.strip()), gift_of=int(gift.group(1)) if gift else None)


def _shipping(raw: object, currency: str, problems: list[Problem]) -> Decimal:
    if raw is None:
        return ZERO
    if not isinstance(raw, dict):
        problems.append(Problem("shipping", "shipping is an object with a price"))
        return ZERO
    try:
        return parse_amount(raw.get("price", "0"), currency)
    except ValueError as error:
        problems.append(Problem("shipping.price", str(error)))
        return ZERO


def _strings(raw: object, name: str, most: int, problems: list[Problem]) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > most or not all(isinstance(v, str) and len(v) <= 64 for v in raw):
        problems.append(Problem(name, f"{name} is a list of at most {most} codes"))
        return []
    unique = []
    for value in (v.strip() for v in raw):
        if value and value.lower() not in {u.lower() for u in unique}:
            unique.append(value)
    return unique
