"""Money to the minor unit through the engine: JPY has none, USD two, KWD three; totals exact."""
import pytest

from tests.unit.promotions.carts import D, discounts, fixed_off_cart, line, percent_off_cart, priced, promo

CURRENCIES = [("JPY", "333", "300"), ("USD", "3.33", "3.00"), ("KWD", "3.333", "3.000")]


@pytest.mark.parametrize(("currency", "unit_price", "total"), CURRENCIES)
def test_a_cart_percentage_rounds_half_up_to_the_currencys_minor_unit(currency, unit_price, total):
    result = priced([line("a", unit_price)], [promo(1, actions=[percent_off_cart(10)])], currency=currency)
    assert result.total == D(total) and result.total.as_tuple().exponent == D(total).as_tuple().exponent


def test_yen_discounts_are_whole_yen_and_the_shares_sum_to_the_discount():
    result = priced([line("a", "999"), line("b", "999"), line("c", "999")],
                    [promo(1, actions=[fixed_off_cart("1000")])], currency="JPY")
    assert discounts(result) == [D(334), D(333), D(333)] and result.total == D(1997)


def test_yen_item_percentages_round_half_up_per_line():
    result = priced([line("a", "15"), line("b", "25")],
                    [promo(1, actions=[("percentage_off_items", {"percent": D(10)})])], currency="JPY")
    assert discounts(result) == [D(2), D(3)] and result.total == D(35)  # 1.5 → 2, 2.5 → 3


def test_dinar_shares_have_three_decimals_and_sum_to_the_discount():
    result = priced([line("a", "1.000"), line("b", "1.000"), line("c", "1.000")],
                    [promo(1, actions=[fixed_off_cart("1.000")])], currency="KWD")
    assert discounts(result) == [D("0.334"), D("0.333"), D("0.333")] and result.total == D("2.000")


def test_dinar_percentages_round_half_up_at_the_third_decimal():
    result = priced([line("a", "1.005")], [promo(1, actions=[percent_off_cart(50)])], currency="KWD")
    assert result.applied == {1: D("0.503")} and result.total == D("0.502")


def test_dollar_cents_shared_by_a_cart_percentage_sum_exactly():
    lines = [line("a", "0.99"), line("b", "1.01"), line("c", "33.33", 3)]
    result = priced(lines, [promo(1, actions=[percent_off_cart(15)])])
    assert sum(discounts(result), D(0)) == result.applied[1] == D("15.30")  # 15 % of 101.99 = 15.2985
    assert result.total == D("86.69")
