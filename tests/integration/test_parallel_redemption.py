"""Checkouts racing in real processes for the last uses of a coupon, one gift card's balance and
one customer's store credit, on the database the test runs on (SQLite and PostgreSQL): exactly as
many succeed as there is to spend, the rest are refused with a reason, nothing goes below zero,
and every ledger sums to its balance."""
from __future__ import annotations

import multiprocessing
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories import make_customer
from tests.racers import race_checkout
from webapp.extensions import db
from webapp.orders.models import Order
from webapp.promotions import promotion_store
from webapp.promotions.balances import GiftCardRequest, issue_credit, issue_gift_card
from webapp.promotions.models import (
    Checkout,
    Coupon,
    CouponRedemption,
    GiftCard,
    GiftCardEntry,
    StoreCreditAccount,
    StoreCreditEntry,
)

RACERS = 6
SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter each: no connection shared by fork


def body(number: str, email: str, price: str = "20.00", **extra) -> dict:
    return {"currency": "USD", "customer": {"email": email}, "number": number,
            "lines": [{"id": "1", "product": "mug", "quantity": 1, "unit_price": price}], **extra}


@pytest.fixture(scope="module")
def racers():
    """RACERS processes started once for the module (each a fresh interpreter: nothing shared by
    fork), and a manager for the barrier that lets them go at the same moment."""
    with SPAWN.Pool(RACERS) as pool, SPAWN.Manager() as manager:
        yield pool, manager


def race(app, redis_url, tmp_path, store, racers, payloads: list[dict]) -> list[tuple]:
    assert len(payloads) == RACERS  # one task each: a racer waiting at the barrier takes no other
    pool, manager = racers
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    barrier = manager.Barrier(len(payloads))
    db.session.commit()
    db.session.remove()  # the racers see what the test set up, and the test sees what they did
    tasks = [(url, redis_url, str(tmp_path), store.id, payload, barrier) for payload in payloads]
    outcomes = pool.map(race_checkout, tasks, chunksize=1)
    assert not [o for o in outcomes if o[0] == "error"], outcomes
    return outcomes


@pytest.fixture
def coupon_promotion(store):
    promotion, problems = promotion_store.create_promotion(store, {
        "name": "Launch", "conditions": [{"type": "coupon"}],
        "actions": [{"type": "fixed_off_cart", "amount": "5.00"}]})
    assert not problems
    return promotion


def test_a_coupon_is_never_used_beyond_its_limit(app, redis_url, tmp_path, store, coupon_promotion, racers):
    request, _ = promotion_store.parse_coupon_request({"code": "LAST2", "usage_limit": 2})
    promotion_store.add_coupons(coupon_promotion, request)
    outcomes = race(app, redis_url, tmp_path, store, racers,
                    [body(f"R{i}", f"racer{i}@example.com", codes=["last2"]) for i in range(RACERS)])
    assert sorted(o[0] for o in outcomes if o[0] == "ok") == ["ok", "ok"], outcomes
    # Both placed orders got the discount: none went through at full price with the code ignored.
    assert [c.priced["discount_total"] for c in db.session.scalars(select(Checkout))] == ["5.00", "5.00"]
    assert {o for o in outcomes if o[0] != "ok"} == {(409, "coupon last2 used up")}
    assert db.session.scalar(select(Coupon.times_used)) == 2
    assert db.session.scalar(select(func.count()).select_from(CouponRedemption)) == 2
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2
    assert db.session.scalar(select(func.count()).select_from(Checkout)) == 2


def test_a_once_per_customer_coupon_is_used_once_by_one_customer_racing_themself(app, redis_url, tmp_path, store,
                                                                                 coupon_promotion, racers):
    request, _ = promotion_store.parse_coupon_request({"code": "HELLO", "once_per_customer": True})
    promotion_store.add_coupons(coupon_promotion, request)
    outcomes = race(app, redis_url, tmp_path, store, racers,
                    [body(f"S{i}", "same@example.com", codes=["HELLO"]) for i in range(RACERS)])
    assert [o[0] for o in outcomes].count("ok") == 1
    assert {o for o in outcomes if o[0] != "ok"} == {(409, "coupon HELLO was already used by this customer")}
    assert db.session.scalar(select(Coupon.times_used)) == 1


def test_a_gift_card_never_goes_below_zero(app, redis_url, tmp_path, store, racers):
    card, _ = issue_gift_card(store, GiftCardRequest("RACE-CARD-0001", Decimal("50.00"), "USD", None, None, None))
    outcomes = race(app, redis_url, tmp_path, store, racers,
                    [body(f"G{i}", f"g{i}@example.com", gift_cards=["race-card-0001"]) for i in range(RACERS)])
    # 20.00 each from 50.00. Racers that priced before any commit all want 20.00: two get it, the
    # rest are refused (the card "no longer holds" it). A racer that priced after sees what is left
    # and may pay that part by card; either way the card pays out no more than it held.
    refused = [o for o in outcomes if o[0] != "ok"]
    assert all(o[0] == 409 and "no longer holds" in o[1] for o in refused), refused
    assert len(outcomes) - len(refused) >= 2
    assert_ledger_matches(GiftCardEntry.amount_minor, GiftCardEntry.gift_card_id == card.id,
                          db.session.get(GiftCard, card.id).balance_minor, issued=5000)


def test_store_credit_never_goes_below_zero(app, redis_url, tmp_path, store, racers):
    customer = make_customer(store, email="credit@example.com")
    assert issue_credit(store, customer, Decimal("30.00"), "USD", "goodwill")
    outcomes = race(app, redis_url, tmp_path, store, racers,
                    [body(f"C{i}", "credit@example.com", store_credit=True) for i in range(RACERS)])
    refused = [o for o in outcomes if o[0] != "ok"]
    assert all(o[0] == 409 and "no longer holds" in o[1] for o in refused), refused
    assert_ledger_matches(StoreCreditEntry.amount_minor, True, db.session.scalar(
        select(StoreCreditAccount.balance_minor)), issued=3000)


def assert_ledger_matches(amount, where, balance: int, issued: int) -> None:
    """The balance is never below zero, it is the sum of its ledger, and what the placed orders
    drew is exactly what left it: no checkout was charged without its entry, none twice."""
    entries = db.session.scalars(select(amount).where(where)).all()
    drawn_by_orders = sum(Decimal(p["amount"]) for priced in db.session.scalars(select(Checkout.priced))
                          for p in priced["payments"]) * 100
    assert balance >= 0
    assert sum(entries) == balance
    assert issued - balance == drawn_by_orders == -sum(e for e in entries if e < 0)
