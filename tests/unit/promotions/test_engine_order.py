"""The order promotions apply in (item level, cart level, shipping; then priority, then id), what
an exclusive promotion stops, and the active window."""
from datetime import UTC, datetime

from tests.unit.promotions.carts import NOW, D, fixed_off_cart, line, percent_off_cart, priced, promo


def items_off(percent):
    return "percentage_off_items", {"percent": D(percent)}


def test_item_level_applies_before_cart_level_whatever_the_priority():
    result = priced([line("a", "100.00")], [promo(1, actions=[percent_off_cart(10)], priority=1),
                                            promo(2, actions=[("fixed_off_items", {"amount": D("20.00")})],
                                                  priority=9)])
    assert result.applied == {2: D("20.00"), 1: D("8.00")}  # 10 % of the 80 the item discount left


def test_within_a_level_lower_priority_numbers_apply_first():
    result = priced([line("a", "100.00")], [promo(1, actions=[fixed_off_cart("10.00")], priority=5),
                                            promo(2, actions=[percent_off_cart(50)], priority=1)])
    assert result.applied == {2: D("50.00"), 1: D("10.00")}


def test_at_equal_priority_the_lower_id_applies_first():
    result = priced([line("a", "100.00")], [promo(9, actions=[fixed_off_cart("10.00")]),
                                            promo(3, actions=[percent_off_cart(50)])])
    assert list(result.applied) == [3, 9] and result.applied == {3: D("50.00"), 9: D("10.00")}


def test_the_order_promotions_are_given_in_does_not_change_the_price():
    promotions = [promo(1, actions=[percent_off_cart(15)], priority=3), promo(2, actions=[fixed_off_cart("7.00")]),
                  promo(3, actions=[items_off(10)], priority=7)]
    forward = priced([line("a", "80.00"), line("b", "19.99")], promotions)
    backward = priced([line("a", "80.00"), line("b", "19.99")], promotions[::-1])
    assert (forward.total, forward.applied) == (backward.total, backward.applied)


def test_stackable_promotions_all_apply():
    result = priced([line("a", "100.00")], [promo(1, actions=[percent_off_cart(10)]),
                                            promo(2, actions=[fixed_off_cart("5.00")])], shipping="5.00")
    assert set(result.applied) == {1, 2} and result.total == D("90.00")


def test_an_exclusive_promotion_stops_lower_priority_ones_and_says_so():
    result = priced([line("a", "100.00")], [
        promo(2, actions=[percent_off_cart(5)], priority=5),
        promo(1, actions=[percent_off_cart(20)], priority=1, exclusive=True, name="Summer sale"),
        promo(3, actions=[("free_shipping", {})], priority=9)], shipping="5.00")
    assert result.applied == {1: D("20.00")}
    assert result.not_applied == {2: "excluded by Summer sale (exclusive, priority 1)",
                                  3: "excluded by Summer sale (exclusive, priority 1)"}


def test_an_exclusive_promotion_leaves_higher_priority_ones_applied():
    result = priced([line("a", "100.00")], [promo(1, actions=[fixed_off_cart("10.00")], priority=1),
                                            promo(2, actions=[percent_off_cart(20)], priority=5, exclusive=True)])
    assert result.applied == {1: D("10.00"), 2: D("18.00")}


def test_a_cart_level_exclusive_promotion_stops_a_lower_priority_item_discount():
    # The item discount acts at an earlier level, but it comes after the exclusive one in priority.
    result = priced([line("a", "100.00")], [
        promo(1, actions=[percent_off_cart(20)], priority=1, exclusive=True, name="Summer sale"),
        promo(2, actions=[items_off(50)], priority=5)])
    assert result.applied == {1: D("20.00")} and result.total == D("80.00")
    assert result.not_applied == {2: "excluded by Summer sale (exclusive, priority 1)"}


def test_an_item_level_exclusive_promotion_does_not_stop_a_higher_priority_cart_discount():
    result = priced([line("a", "100.00")], [promo(1, actions=[percent_off_cart(10)], priority=1),
                                            promo(2, actions=[items_off(50)], priority=5, exclusive=True),
                                            promo(3, actions=[fixed_off_cart("1.00")], priority=9)])
    assert result.applied == {2: D("50.00"), 1: D("5.00")}
    assert set(result.not_applied) == {3}


def test_an_exclusive_promotion_at_equal_priority_stops_those_with_a_higher_id():
    result = priced([line("a", "100.00")], [promo(1, actions=[percent_off_cart(10)], exclusive=True),
                                            promo(2, actions=[percent_off_cart(10)])])
    assert result.applied == {1: D("10.00")} and 2 in result.not_applied


def test_an_exclusive_promotion_that_does_not_apply_stops_nothing():
    result = priced([line("a", "40.00")], [
        promo(1, [("subtotal_above", {"amount": D("50.00")})], [percent_off_cart(20)], priority=1, exclusive=True),
        promo(2, actions=[percent_off_cart(10)], priority=5)])
    assert result.applied == {2: D("4.00")}
    assert result.not_applied == {1: "subtotal 40.00 is not above 50.00"}


def test_an_exclusive_promotion_with_nothing_to_discount_stops_nothing():
    result = priced([line("a", "40.00")], [
        promo(1, actions=[("percentage_off_items", {"percent": D(50), "products": ["hat"]})], priority=1,
              exclusive=True),
        promo(2, actions=[percent_off_cart(10)], priority=5)])
    assert result.applied == {2: D("4.00")}


def test_an_exclusive_promotion_still_applies_its_own_actions_at_every_level():
    both = promo(1, actions=[items_off(10), percent_off_cart(10), ("free_shipping", {})], exclusive=True)
    result = priced([line("a", "100.00")], [both], shipping="5.00")
    assert result.applied == {1: D("24.00")} and result.total == D("81.00")  # 10 + 9 + 5 shipping


def test_a_promotion_before_its_start_does_not_apply():
    later = promo(1, actions=[fixed_off_cart(1)], starts_at=datetime(2027, 1, 1, tzinfo=UTC))
    assert priced([line("a", "10")], [later]).not_applied == {1: "starts 2027-01-01 00:00"}


def test_a_promotion_at_or_after_its_end_does_not_apply():
    past = promo(1, actions=[fixed_off_cart(1)], ends_at=NOW)
    assert priced([line("a", "10")], [past]).not_applied == {1: "ended 2026-12-02 12:00"}


def test_a_promotion_inside_its_window_applies():
    now = promo(1, actions=[fixed_off_cart(1)], starts_at=NOW, ends_at=datetime(2027, 1, 1, tzinfo=UTC))
    assert priced([line("a", "10")], [now]).applied == {1: D(1)}


def test_a_promotion_that_applies_nothing_is_listed_with_a_reason():
    result = priced([line("a", "10.00")], [promo(1, actions=[("mystery", {})])])
    assert result.applied == {} and result.not_applied == {1: "nothing in the cart it discounts"}
