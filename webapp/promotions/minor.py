"""Amounts to and from the integer minor units the database stores (pure)."""
from __future__ import annotations

from decimal import Decimal

from webapp.promotions.money import exponent, unit


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(exponent(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    return (Decimal(minor).scaleb(-exponent(currency))).quantize(unit(currency))
