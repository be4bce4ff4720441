"""Placing an order at checkout (`POST /api/v1/checkout/complete`): price the cart again, then in
one transaction record the checkout, use up its coupons, draw its gift cards and store credit,
create the order and plan its "Initiated" notifications. Any refusal (a coupon used up by a
checkout that won the race, a card another checkout drained) rolls all of it back and says why.

Refunding a checkout (`…/refund`) gives each gift card and the store credit back exactly what it
paid, once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from webapp import vocabulary
from webapp.accounts.models import Store
from webapp.events.normalized import CustomerData, LineItem, NormalizedEvent
from webapp.extensions import db
from webapp.pipeline.ingest import ingest_event
from webapp.promotions import checkout as pricing
from webapp.promotions.balances import masked, move_card, move_credit
from webapp.promotions.checkout_input import CheckoutInput
from webapp.promotions.minor import to_minor
from webapp.promotions.models import REDEEM, REFUND, Checkout, Coupon, CouponRedemption, GiftCardEntry, Promotion
from webapp.promotions.models import StoreCreditEntry as CreditEntry
from webapp.promotions.payments import GIFT_CARD
from webapp.timeutil import utcnow

SOURCE = "api"


@dataclass
class Refused(Exception):
    """The checkout cannot complete as priced: `status` 409 (a redemption refused, the number
    taken) or 422 (bad input); nothing was written."""

    status: int
    message: str
    field: str | None = None


@dataclass
class Completed:
    checkout: Checkout
    priced: dict
    order_id: int | None
    notification_ids: list[int]


def complete(store: Store, checkout: CheckoutInput, now: datetime) -> Completed:
    found, problems = pricing.quote(store, checkout, now)
    if problems:
        raise Refused(422, problems[0].message, problems[0].field)
    for index, code in enumerate(found.entered):
        if code.problem:  # the shopper expects the discount they typed, not the order without it
            raise Refused(409, code.problem, f"codes[{index}]")
    priced = pricing.as_json(found)
    stored = _masked(priced)  # what the checkout and its event keep: gift card codes are money
    record = Checkout(store_id=store.id, number=checkout.number, currency=checkout.currency, priced=stored,
                      customer_id=found.customer.id if found.customer else None)
    try:
        db.session.add(record)
        db.session.flush()
        _redeem(found, record)
    except Refused:
        db.session.rollback()
        raise
    except IntegrityError:
        db.session.rollback()
        raise Refused(409, f"order {checkout.number} was already checked out", "number") from None
    try:
        # One try: the redemptions are in this transaction, and a retry would commit the order without them.
        result = ingest_event(store, _order_event(found, now), f"checkout:{checkout.number}", stored, tries=1)
    except IntegrityError:  # rolled back, redemptions and all: the order changed under us
        raise Refused(409, f"order {checkout.number} changed while checking out; price it and try again",
                      "number") from None
    record.order_id = result.order_id
    db.session.commit()
    return Completed(record, priced, result.order_id, result.notification_ids)


def _masked(priced: dict) -> dict:
    return {**priced, "payments": [{**p, "code": masked(p["code"]) if p["code"] else None}
                                   for p in priced["payments"]]}


def _redeem(found: pricing.Quote, record: Checkout) -> None:
    """Every use in the transaction, or Refused (the caller rolls back)."""
    email = found.checkout.email
    # Rows are changed in id order, whatever order the shopper gave: two checkouts holding the same
    # coupons or cards then lock them in one order and never deadlock.
    for code in sorted(found.coupons_to_redeem(), key=lambda c: c.coupon.id):
        coupon = code.coupon
        used = db.session.execute(update(Coupon).where(
            Coupon.id == coupon.id, (Coupon.usage_limit.is_(None)) | (Coupon.times_used < Coupon.usage_limit))
            .values(times_used=Coupon.times_used + 1).execution_options(synchronize_session=False)).rowcount
        if not used:
            raise Refused(409, f"coupon {code.code} used up", "codes")
        try:
            with db.session.begin_nested():
                db.session.add(CouponRedemption(coupon_id=coupon.id, checkout_id=record.id,
                                                once_key=email if coupon.once_per_customer else None))
        except IntegrityError:
            raise Refused(409, f"coupon {code.code} was already used by this customer", "codes") from None
    currency = found.checkout.currency
    def lock_order(payment) -> tuple[int, int]:
        return (0, found.cards[payment.code].id) if payment.kind == GIFT_CARD else (1, 0)

    for payment in sorted(found.payments, key=lock_order):
        minor = to_minor(payment.amount, currency)
        if payment.kind == GIFT_CARD:
            card = found.cards[payment.code]
            if not move_card(card.id, -minor, REDEEM, checkout_id=record.id, note=f"order {record.number}",
                             spend_at=utcnow()):
                raise Refused(409, f"gift card {masked(payment.code)} no longer holds {payment.amount} (or was "
                                   f"disabled); price the checkout again", "gift_cards")
        elif not move_credit(found.account.id, -minor, REDEEM, checkout_id=record.id,
                             reason=f"order {record.number}"):
            raise Refused(409, f"store credit no longer holds {payment.amount}; price the checkout again",
                          "store_credit")
    for promotion_id, amount in sorted(found.priced.applied.items()):  # one lock order for every checkout
        db.session.execute(update(Promotion).where(Promotion.id == promotion_id).values(
            times_used=Promotion.times_used + 1, discount_minor=Promotion.discount_minor + to_minor(amount, currency),
            updated_at=Promotion.updated_at)  # a use is not an edit: the parsed promotion stays cached
            .execution_options(synchronize_session=False))


def _order_event(found: pricing.Quote, now: datetime) -> NormalizedEvent:
    checkout = found.checkout
    lines = tuple(LineItem(name=pl.line.product + (f" ({pl.line.variant})" if pl.line.variant else ""),
                           quantity=pl.line.quantity, price=pl.line.unit_price, sku=pl.line.variant)
                  for pl in found.priced.lines)
    return NormalizedEvent(source=SOURCE, kind=vocabulary.ORDER, external_id=checkout.number, number=checkout.number,
                           status="initiated", occurred_at=now, topic="checkout/complete",
                           customer=CustomerData(email=checkout.email), lines=lines, total=found.priced.total,
                           currency=checkout.currency)


def refund(store: Store, number: str) -> Checkout:
    """Give back what the checkout drew from gift cards and store credit; Refused (409) when it was
    refunded already, 404-like Refused when there is no such checkout."""
    record = db.session.scalar(select(Checkout).where(Checkout.store_id == store.id, Checkout.number == number)
                               .with_for_update())
    if record is None:
        raise Refused(404, f"no checkout with the number {number}", "number")
    claimed = db.session.execute(update(Checkout).where(Checkout.id == record.id, Checkout.refunded_at.is_(None))
                                 .values(refunded_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if not claimed:
        db.session.rollback()
        raise Refused(409, f"checkout {number} was already refunded", "number")
    for entry in list(db.session.scalars(select(GiftCardEntry).where(GiftCardEntry.checkout_id == record.id,
                                                                GiftCardEntry.kind == REDEEM))):
        move_card(entry.gift_card_id, -entry.amount_minor, REFUND, checkout_id=record.id,
                  note=f"refund of order {number}")
    for entry in list(db.session.scalars(select(CreditEntry).where(CreditEntry.checkout_id == record.id,
                                                              CreditEntry.kind == REDEEM))):
        move_credit(entry.account_id, -entry.amount_minor, REFUND, checkout_id=record.id,
                    reason=f"refund of order {number}")
    db.session.commit()
    db.session.refresh(record)
    return record
