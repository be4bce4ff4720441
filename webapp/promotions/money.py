"""Money exact to the minor unit of its currency (pure): JPY has none, USD two, KWD three.

Amounts are Decimals quantized to the currency's minor unit; percentages round half-up per line;
a cart-level discount is shared across lines in proportion to their value, the leftover minor
units going to the largest lines first, so the shares always sum to the whole exactly.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision

ZERO = Decimal(0)
MAX_AMOUNT = Decimal(100_000_000)  # per amount; a cart of 500 lines × 10,000 units stays far inside Decimal


@lru_cache(maxsize=256)
def exponent(currency: str) -> int:
    """The currency's minor-unit digits (ISO 4217 through Babel): JPY 0, USD 2, KWD 3. Cached: a
    pricing rounds many times and Babel's lookup costs a microsecond each."""
    try:
        return get_currency_precision(currency.upper())
    except Exception:  # noqa: BLE001 - an unknown code: the usual two digits
        return 2


@lru_cache(maxsize=256)
def unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def parse_amount(value: object, currency: str) -> Decimal:
    """A decimal string (or number) as an amount in the currency; ValueError when it is not one,
    is negative, or has more digits than the currency's minor unit."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError("an amount is a decimal string such as \"12.50\"")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"“{value}” is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("an amount is 0 or more")
    if amount > MAX_AMOUNT:  # also keeps quantize within Decimal's precision, and totals within columns
        raise ValueError(f"an amount is at most {MAX_AMOUNT:,}")
    if amount != amount.quantize(unit(currency), rounding=ROUND_DOWN):
        raise ValueError(f"{currency} has {exponent(currency)} decimal places; “{value}” has more")
    return amount.quantize(unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(unit(currency), rounding=ROUND_HALF_UP)


def round_down(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(unit(currency), rounding=ROUND_DOWN)


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """`percent` % of `amount`, rounded half-up to the minor unit, never more than the amount. The
    cap is the amount rounded down, so a share of a unit price (10.00 / 3) still gives whole minor
    units."""
    return min(round_down(amount, currency), round_money(amount * percent / 100, currency))


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """`total` shared in proportion to `weights`, in minor units that sum to `total` exactly: each
    share rounded down, the leftover units to the largest weights first (ties: the earlier line).
    No share exceeds its weight when the total does not exceed their sum."""
    step = unit(currency)
    whole = sum(weights, ZERO)
    if not weights or total <= 0 or whole <= 0:
        return [ZERO] * len(weights)
    shares = [(total * weight / whole).quantize(step, rounding=ROUND_DOWN) for weight in weights]
    left = int((total - sum(shares, ZERO)) / step)
    order = sorted(range(len(weights)), key=lambda i: (-weights[i], i))
    # A weight need not be whole minor units (a bundle's share of a line): the second pass lets a
    # share reach the weight rounded up, so no unit of the total is dropped.
    for limit in (lambda w: w, lambda w: w.quantize(step, rounding=ROUND_CEILING)):
        for i in order:
            if left <= 0:
                return shares
            if shares[i] + step <= limit(weights[i]):
                shares[i] += step
                left -= 1
    return shares
