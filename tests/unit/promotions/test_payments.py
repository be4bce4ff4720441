"""Gift cards in the order given, then store credit, never more than due, never below zero."""
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.promotions.payments import GIFT_CARD, STORE_CREDIT, Balance, draw

D = Decimal


def test_cards_are_drawn_in_order_then_store_credit_and_the_rest_is_due():
    payments, due = draw(D("100.00"), [Balance(GIFT_CARD, "A", D("30.00")), Balance(GIFT_CARD, "B", D("50.00"))],
                         Balance(STORE_CREDIT, None, D("15.00")))
    assert [(p.code, p.amount, p.balance_after) for p in payments] == [("A", D("30.00"), D("0.00")),
                                                                      ("B", D("50.00"), D("0.00")),
                                                                      (None, D("15.00"), D("0.00"))]
    assert due == D("5.00")


def test_a_second_card_is_not_touched_when_the_first_covers_the_total():
    payments, due = draw(D("20.00"), [Balance(GIFT_CARD, "A", D("30.00")), Balance(GIFT_CARD, "B", D("50.00"))])
    assert [(p.code, p.amount, p.balance_after) for p in payments] == [("A", D("20.00"), D("10.00"))]
    assert due == D("0.00")


def test_store_credit_is_drawn_only_after_every_gift_card():
    payments, due = draw(D("50.00"), [Balance(GIFT_CARD, "A", D("10.00"))], Balance(STORE_CREDIT, None, D("100.00")))
    assert [(p.kind, p.amount, p.balance_after) for p in payments] == [(GIFT_CARD, D("10.00"), D("0.00")),
                                                                      (STORE_CREDIT, D("40.00"), D("60.00"))]
    assert due == D("0.00")


def test_empty_balances_are_skipped_and_the_primary_payment_pays_the_rest():
    payments, due = draw(D("25.00"), [Balance(GIFT_CARD, "EMPTY", D("0.00")), Balance(GIFT_CARD, "B", D("5.00"))],
                         Balance(STORE_CREDIT, None, D("0.00")))
    assert [p.code for p in payments] == ["B"] and due == D("20.00")


def test_a_total_of_zero_draws_nothing():
    assert draw(D("0.00"), [Balance(GIFT_CARD, "A", D("30.00"))]) == ([], D("0.00"))


amounts = st.decimals(min_value=0, max_value=10_000, places=2)


@settings(derandomize=True, max_examples=200)
@given(amounts, st.lists(amounts, max_size=5), amounts)
def test_payments_never_exceed_the_total_nor_any_balance(total, cards, credit):
    payments, due = draw(total, [Balance(GIFT_CARD, str(i), c) for i, c in enumerate(cards)],
                         Balance(STORE_CREDIT, None, credit))
    assert sum((p.amount for p in payments), D(0)) + due == total
    assert due >= 0 and all(p.amount > 0 and p.balance_after >= 0 for p in payments)
