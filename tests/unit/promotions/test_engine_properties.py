"""Properties of any pricing (Hypothesis, derandomized so every run tries the same carts): totals
never negative, line discounts that add up, the same answer twice, every amount in whole minor
units, and payments that never exceed what is due."""
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.promotions.carts import D, line, priced, promo
from webapp.promotions.engine import Shopper
from webapp.promotions.money import unit
from webapp.promotions.payments import GIFT_CARD, STORE_CREDIT, Balance, draw

PRODUCTS = ["a", "b", "c", "d"]
CATEGORY = {"a": "shoes", "b": "shoes", "c": "socks", "d": "hats"}
percents = st.integers(min_value=1, max_value=100).map(D)
minor_amounts = st.integers(min_value=0, max_value=20_000)  # in minor units; scaled to the currency
some_products = st.lists(st.sampled_from(PRODUCTS), min_size=1, max_size=2, unique=True)


def actions(step: Decimal):
    amounts = minor_amounts.map(lambda n: n * step)
    targets = st.one_of(st.just({}), some_products.map(lambda p: {"products": p}),
                        st.sampled_from(["shoes", "socks"]).map(lambda c: {"categories": [c]}))
    unit_sets = st.fixed_dictionaries({"quantity": st.integers(1, 3)}) | st.fixed_dictionaries(
        {"quantity": st.integers(1, 2), "categories": st.sampled_from([["shoes"], ["socks"]])})
    return st.one_of(
        st.tuples(st.just("percentage_off_cart"), st.fixed_dictionaries({"percent": percents})),
        st.tuples(st.just("fixed_off_cart"), st.fixed_dictionaries({"amount": amounts})),
        st.tuples(st.just("percentage_off_items"), st.tuples(percents, targets).map(lambda t: {"percent": t[0],
                                                                                                 **t[1]})),
        st.tuples(st.just("fixed_off_items"), st.tuples(amounts, st.booleans(), targets).map(
            lambda t: {"amount": t[0], "per_unit": t[1], **t[2]})),
        st.tuples(st.just("buy_x_get_y"), st.fixed_dictionaries({"buy": unit_sets, "get": unit_sets,
                                                                 "percent": percents})),
        st.tuples(st.just("bundle"), st.tuples(some_products, st.integers(1, 2), st.booleans(), percents, amounts).map(
            lambda t: {"items": [{"product": p, "quantity": t[1]} for p in t[0]],
                       **({"percent": t[3]} if t[2] else {"amount": t[4]})})),
        st.tuples(st.just("free_product"), st.just({"product": "gift"})),
        st.tuples(st.just("free_shipping"), st.one_of(st.just({}), amounts.map(lambda a: {"max_shipping": a}))),
    )


ACTIONS = {currency: actions(unit(currency)) for currency in ("JPY", "USD", "KWD")}  # built once, drawn often


@st.composite
def carts(draw_):
    currency = draw_(st.sampled_from(sorted(ACTIONS)))
    step = unit(currency)
    items = draw_(st.lists(st.tuples(st.sampled_from(PRODUCTS), minor_amounts, st.integers(1, 4)), min_size=1,
                           max_size=6))
    lines = [line(f"l{i}", n * step, quantity, product=product, categories=[CATEGORY[product]])
             for i, (product, n, quantity) in enumerate(items)]
    promotions = [promo(i, [("subtotal_above", {"amount": draw_(minor_amounts) * step})] if draw_(st.booleans())
                        else [], draw_(st.lists(ACTIONS[currency], min_size=1, max_size=2)),
                        priority=draw_(st.integers(0, 3)), exclusive=draw_(st.booleans()))
                  for i in range(1, draw_(st.integers(1, 5)) + 1)]
    shipping = draw_(minor_amounts) * step
    return currency, lines, promotions, shipping


def price_it(case):
    currency, lines, promotions, shipping = case
    return priced(lines, promotions, currency=currency, shipping=str(shipping), shopper=Shopper())


def every_amount(result):
    yield from (d.amount for pl in result.lines for d in pl.discounts)
    yield from (d.amount for d in result.shipping_discounts)
    yield from result.applied.values()
    yield from (result.total, result.discount_total, result.shipping_total)


SETTINGS = settings(derandomize=True, max_examples=80, deadline=None)


@SETTINGS
@given(carts())
def test_totals_and_lines_are_never_negative(case):
    result = price_it(case)
    assert result.total >= 0 and result.shipping_total >= 0
    assert all(pl.discounted >= 0 for pl in result.lines)


@SETTINGS
@given(carts())
def test_line_discounts_sum_to_the_discount_total_and_to_what_the_promotions_gave(case):
    result = price_it(case)
    line_sum = sum((d.amount for pl in result.lines for d in pl.discounts), D(0))
    shipping_sum = sum((d.amount for d in result.shipping_discounts), D(0))
    assert line_sum == result.discount_total
    assert sum(result.applied.values(), D(0)) == line_sum + shipping_sum
    assert result.total == result.subtotal - result.discount_total + result.shipping_total


@SETTINGS
@given(carts())
def test_pricing_the_same_cart_twice_gives_the_same_result(case):
    first, again = price_it(case), price_it(case)
    assert first == again


@SETTINGS
@given(carts())
def test_every_amount_is_in_whole_minor_units_of_the_currency(case):
    result = price_it(case)
    step = unit(case[0])
    assert all(amount == amount.quantize(step) for amount in every_amount(result))


@SETTINGS
@given(carts())
def test_each_promotion_is_either_applied_or_has_a_reason(case):
    result = price_it(case)
    ids = {p.id for p in case[2]}
    assert set(result.applied) | set(result.not_applied) == ids and not set(result.applied) & set(result.not_applied)


@SETTINGS
@given(carts(), st.lists(minor_amounts, max_size=3), minor_amounts)
def test_gift_cards_and_store_credit_never_pay_more_than_the_priced_total(case, cards, credit):
    result = price_it(case)
    step = unit(case[0])
    payments, due = draw(result.total, [Balance(GIFT_CARD, str(i), n * step) for i, n in enumerate(cards)],
                         Balance(STORE_CREDIT, None, credit * step))
    paid = sum((p.amount for p in payments), D(0))
    assert paid <= result.total and paid + due == result.total and due >= 0
