"""What gift cards and store credit pay of a total (pure): gift cards in the order given, each up
to its balance and to what is still due, then store credit; the rest is left for the primary
payment method. Never more than the total, never below a balance of zero."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from webapp.promotions.money import ZERO

GIFT_CARD, STORE_CREDIT = "gift_card", "store_credit"


@dataclass(frozen=True)
class Balance:
    kind: str  # GIFT_CARD or STORE_CREDIT
    code: str | None  # the gift card's code; None for store credit
    available: Decimal


@dataclass(frozen=True)
class Payment:
    kind: str
    code: str | None
    amount: Decimal
    balance_after: Decimal


def draw(total: Decimal, gift_cards: Sequence[Balance], store_credit: Balance | None = None) -> tuple[list[Payment],
                                                                                                    Decimal]:
    """(the payments drawn, the amount left due)."""
    due, payments = max(total, ZERO), []
    for balance in [*gift_cards, *([store_credit] if store_credit else [])]:
        amount = min(due, max(balance.available, ZERO))
        if amount <= 0:
            continue
        payments.append(Payment(balance.kind, balance.code, amount, balance.available - amount))
        due -= amount
    return payments, due
