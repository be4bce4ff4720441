"""Small builders for the engine's tests: lines, promotions written as (type, params) pairs, and a
`priced` that prices a cart at a fixed moment."""
from datetime import UTC, datetime
from decimal import Decimal

from webapp.promotions.engine import Cart, Line, Priced, Promotion, Rule, Shopper, price

D = Decimal
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
ANYONE = Shopper()


def line(id, price_, quantity=1, product=None, variant=None, categories=()) -> Line:
    return Line(id, product or id, variant, quantity, D(price_), frozenset(categories))


def promo(id, conditions=(), actions=(), **kw) -> Promotion:
    return Promotion(id, kw.pop("name", f"P{id}"), tuple(Rule(t, p) for t, p in conditions),
                     tuple(Rule(t, p) for t, p in actions), **kw)


def priced(lines, promotions, currency="USD", shipping="0", shopper=ANYONE, codes=(), now=NOW) -> Priced:
    return price(Cart(currency, tuple(lines), D(shipping)), shopper, codes, promotions, now)


def percent_off_cart(percent) -> tuple[str, dict]:
    return "percentage_off_cart", {"percent": D(percent)}


def fixed_off_cart(amount) -> tuple[str, dict]:
    return "fixed_off_cart", {"amount": D(amount)}


def discounts(result: Priced) -> list[Decimal]:
    """What each line was given off, in line order."""
    return [sum((d.amount for d in pl.discounts), D(0)) for pl in result.lines]
