"""Money to the minor unit: JPY, USD and KWD; percentages half-up; allocation that sums exactly."""
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.promotions.money import allocate, exponent, parse_amount, percent_of

D = Decimal


def test_each_currency_has_its_minor_unit():
    assert (exponent("JPY"), exponent("USD"), exponent("KWD"), exponent("eur")) == (0, 2, 3, 2)


def test_amounts_are_parsed_exactly_and_refused_with_a_reason():
    assert parse_amount("12.5", "USD") == D("12.50") and parse_amount("1000", "JPY") == D("1000")
    assert parse_amount("0.125", "KWD") == D("0.125")
    for bad, currency in (("1.005", "USD"), ("10.5", "JPY"), ("-1", "USD"), ("abc", "USD"), (1.5, "USD")):
        with pytest.raises(ValueError):
            parse_amount(bad, currency)


def test_percentages_round_half_up_per_currency():
    assert percent_of(D("0.05"), D(50), "USD") == D("0.03")  # 0.025 → 0.03
    assert percent_of(D("15"), D(10), "JPY") == D("2")  # 1.5 → 2
    assert percent_of(D("1.005"), D(50), "KWD") == D("0.503")  # 0.5025 → 0.503
    assert percent_of(D("10.00"), D(150), "USD") == D("10.00")  # never more than the amount


def test_a_percentage_of_a_fraction_of_a_cent_is_capped_in_whole_cents():
    # A unit's share of 10.00 over three units is 3.333…: all of it is 3.33, not 3.34 nor 3.333….
    assert percent_of(D("10.00") / 3, D(100), "USD") == D("3.33")


def test_allocation_gives_leftover_units_to_the_largest_lines():
    assert allocate(D("1.00"), [D("1.00"), D("1.00"), D("1.00")], "USD") == [D("0.34"), D("0.33"), D("0.33")]
    assert allocate(D("10"), [D("100"), D("300")], "JPY") == [D("2"), D("8")]  # 2.5 and 7.5: the unit to 300


def test_allocation_of_nothing_or_over_nothing_gives_zero_shares():
    assert allocate(D("0.00"), [D("1.00"), D("2.00")], "USD") == [D(0), D(0)]
    assert allocate(D("5.00"), [D(0), D(0)], "USD") == [D(0), D(0)]
    assert allocate(D("5.00"), [], "USD") == []


@settings(derandomize=True, max_examples=200)
@given(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=20), st.integers(min_value=0),
       st.sampled_from(["JPY", "USD", "KWD"]))
def test_shares_sum_to_the_total_and_never_exceed_their_line(minor_weights, fraction, currency):
    step = D(1).scaleb(-exponent(currency))
    weights = [D(w) * step for w in minor_weights]
    whole = sum(weights, D(0))
    total = (whole * (fraction % 101) / 100).quantize(step) if whole else D(0)
    shares = allocate(total, weights, currency)
    assert sum(shares, D(0)) == total
    assert all(D(0) <= share <= weight for share, weight in zip(shares, weights, strict=True))


def test_allocation_of_fractional_weights_drops_no_minor_unit():
    shares = allocate(Decimal("6.67"), [Decimal("3.335"), Decimal("3.335")], "USD")
    assert sum(shares) == Decimal("6.67") and shares == [Decimal("3.34"), Decimal("3.33")]
