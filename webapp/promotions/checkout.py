"""Pricing a checkout against the store's records (`POST /api/v1/checkout/price`): the entered
coupons, the store's promotions and bundles, gift card and store credit balances, priced by the
engine. Reads only: nothing is redeemed until the order is placed (pipeline.checkout_complete)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from webapp.accounts.models import Store
from webapp.customers.models import Customer
from webapp.extensions import db
from webapp.promotions import codes, engine
from webapp.promotions.balances import card_balance, card_status, credit_account, credit_balance, find_card, masked
from webapp.promotions.checkout_input import CheckoutInput
from webapp.promotions.models import ACTIVE, GiftCard, StoreCreditAccount
from webapp.promotions.money import unit
from webapp.promotions.payments import GIFT_CARD, STORE_CREDIT, Balance, Payment, draw
from webapp.promotions.promotion_input import Problem
from webapp.promotions.promotion_store import EnteredCode, engine_promotions, entered_codes


@dataclass
class Quote:
    checkout: CheckoutInput
    priced: engine.Priced
    names: dict[int, str]
    entered: list[EnteredCode]
    payments: list[Payment] = field(default_factory=list)
    due: Decimal = Decimal(0)
    cards: dict[str, GiftCard] = field(default_factory=dict)  # by code as entered
    account: StoreCreditAccount | None = None
    customer: Customer | None = None

    def coupons_to_redeem(self) -> list[EnteredCode]:
        """The usable entered coupons whose promotion applied, one per promotion (the first entered):
        only those are used up."""
        chosen: dict[int, EnteredCode] = {}
        for code in self.entered:
            if code.problem is None and code.coupon.promotion_id in self.priced.applied:
                chosen.setdefault(code.coupon.promotion_id, code)
        return list(chosen.values())


def quote(store: Store, checkout: CheckoutInput, now: datetime) -> tuple[Quote | None, list[Problem]]:
    if checkout.currency != store.currency.upper():
        return None, [Problem("currency", f"this store's promotions and gift cards are in {store.currency}; "
                                          f"price the cart in {store.currency}")]
    cards, problems = _gift_cards(store, checkout, now)
    if problems:
        return None, problems
    customer = _customer(store, checkout.email)
    entered = entered_codes(store.id, checkout.codes, checkout.email)
    usable: dict[int, set[str]] = {}
    for code in entered:
        if code.problem is None:
            usable.setdefault(code.coupon.promotion_id, set()).add(codes.key(code.code))
    promotions = engine_promotions(store, {pid: frozenset(keys) for pid, keys in usable.items()}, now)
    priced = engine.price(checkout.cart, checkout.shopper, [codes.key(c) for c in checkout.codes], promotions, now)
    _explain_refused_coupons(priced, entered)
    _local_windows(priced, promotions, now, store.timezone)
    found = Quote(checkout, priced, {p.id: p.name for p in promotions}, entered, cards=cards, customer=customer)
    if checkout.store_credit and customer is not None:
        found.account = credit_account(store.id, customer.id, checkout.currency)
    balances = [Balance(GIFT_CARD, code, card_balance(card)) for code, card in cards.items()]
    credit = Balance(STORE_CREDIT, None, credit_balance(found.account)) if found.account else None
    found.payments, found.due = draw(priced.total, balances, credit)
    return found, []


def _gift_cards(store: Store, checkout: CheckoutInput, now: datetime) -> tuple[dict[str, GiftCard], list[Problem]]:
    cards = {}
    for index, code in enumerate(checkout.gift_cards):
        card = find_card(store.id, code)
        where = f"gift_cards[{index}]"
        if card is None:
            return {}, [Problem(where, f"no gift card {masked(code)} in this store")]
        if (state := card_status(card, now)) != ACTIVE:
            return {}, [Problem(where, f"gift card {masked(code)} is {state}")]
        if card.currency != checkout.currency:
            return {}, [Problem(where, f"gift card {masked(code)} is in {card.currency}, the cart in "
                                       f"{checkout.currency}")]
        cards[code] = card
    return cards, []


def _customer(store: Store, email: str | None) -> Customer | None:
    if not email:
        return None
    return db.session.scalar(select(Customer).where(Customer.store_id == store.id, Customer.email == email,
                                                    Customer.erased_at.is_(None)).limit(1))


def _explain_refused_coupons(priced: engine.Priced, entered: list[EnteredCode]) -> None:
    """A coupon promotion whose entered code cannot be used says why ("coupon SAVE10 used up")
    rather than that no code was entered."""
    for code in entered:
        if code.coupon is not None and code.problem and code.coupon.promotion_id in priced.not_applied:
            priced.not_applied[code.coupon.promotion_id] = code.problem


def _local_windows(priced: engine.Priced, promotions: list[engine.Promotion], now: datetime, timezone: str) -> None:
    """A promotion outside its window says when in the store's timezone, as the editor shows it."""
    zone = ZoneInfo(timezone)
    for promotion in promotions:
        if promotion.id not in priced.not_applied:
            continue
        if promotion.starts_at and now < promotion.starts_at:
            priced.not_applied[promotion.id] = f"starts {promotion.starts_at.astimezone(zone):%Y-%m-%d %H:%M} " \
                                               f"({timezone})"


def as_json(found: Quote) -> dict:
    step = unit(found.checkout.currency)

    def money(amount: Decimal) -> str:
        return str(amount.quantize(step))

    priced = found.priced
    lines = []
    for pl in priced.lines:
        line = {"id": pl.line.id, "product": pl.line.product, "variant": pl.line.variant,
                "quantity": pl.line.quantity, "unit_price": money(pl.line.unit_price),
                "subtotal": money(pl.line.subtotal),
                "discounts": [{"promotion_id": d.promotion_id, "name": found.names.get(d.promotion_id, ""),
                               "amount": money(d.amount)} for d in pl.discounts],
                "total": money(pl.discounted)}
        if pl.line.gift_of is not None:
            line["gift_of"] = pl.line.gift_of
        lines.append(line)
    return {
        "currency": found.checkout.currency, "lines": lines, "subtotal": money(priced.subtotal),
        "discount_total": money(priced.discount_total), "shipping": money(priced.shipping_total),
        "shipping_before_discount": money(priced.shipping), "total": money(priced.total),
        "payments": [{"kind": p.kind, "code": p.code, "amount": money(p.amount),
                      "balance_after": money(p.balance_after)} for p in found.payments],
        "amount_due": money(found.due),
        "applied": [{"promotion_id": pid, "name": found.names.get(pid, ""), "amount": money(amount)}
                    for pid, amount in priced.applied.items()],
        "not_applied": [{"promotion_id": pid, "name": found.names.get(pid, ""), "reason": reason}
                        for pid, reason in priced.not_applied.items()],
        "codes": [{"code": e.code, "promotion_id": e.coupon.promotion_id if e.coupon else None,
                   "usable": e.problem is None, "reason": e.problem} for e in found.entered],
    }
