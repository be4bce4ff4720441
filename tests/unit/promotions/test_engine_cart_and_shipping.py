"""Cart-level actions on the discounted subtotal, shared across the lines exactly; free shipping."""
from tests.unit.promotions.carts import D, discounts, fixed_off_cart, line, percent_off_cart, priced, promo


def test_percentage_off_cart_takes_the_percent_of_the_subtotal():
    result = priced([line("a", "60.00"), line("b", "40.00")], [promo(1, actions=[percent_off_cart(10)])])
    assert result.applied == {1: D("10.00")} and result.total == D("90.00")


def test_percentage_off_cart_applies_to_the_subtotal_left_after_item_discounts():
    # The bug merchants met: a cart percentage computed on the undiscounted subtotal.
    result = priced([line("shoe", "100.00"), line("sock", "10.00")],
                    [promo(1, actions=[("percentage_off_items", {"percent": D(50), "products": ["shoe"]})]),
                     promo(2, actions=[percent_off_cart(10)])])
    assert result.applied == {1: D("50.00"), 2: D("6.00")} and result.total == D("54.00")


def test_fixed_off_cart_takes_the_amount_off_the_subtotal():
    result = priced([line("a", "30.00"), line("b", "10.00")], [promo(1, actions=[fixed_off_cart("8.00")])])
    assert result.applied == {1: D("8.00")} and discounts(result) == [D("6.00"), D("2.00")]


def test_fixed_off_cart_is_capped_at_the_subtotal_left_so_the_total_is_not_below_zero():
    result = priced([line("a", "5.00", 2)], [promo(1, actions=[fixed_off_cart("100.00")])], shipping="4.00")
    assert result.applied == {1: D("10.00")} and result.total == D("4.00")  # shipping is still paid


def test_a_cart_discount_is_shared_in_proportion_to_what_is_left_of_each_line():
    result = priced([line("a", "100.00"), line("b", "100.00")],
                    [promo(1, actions=[("percentage_off_items", {"percent": D(50), "products": ["a"]})]),
                     promo(2, actions=[fixed_off_cart("30.00")])])
    assert [[d.amount for d in pl.discounts if d.promotion_id == 2] for pl in result.lines] == \
        [[D("10.00")], [D("20.00")]]  # 50 and 100 left: one third, two thirds


def test_leftover_minor_units_of_a_cart_discount_go_to_the_largest_lines_first():
    result = priced([line("a", "1.00"), line("b", "3.00"), line("c", "1.00")],
                    [promo(1, actions=[fixed_off_cart("0.04")])])
    # 0.008, 0.024, 0.008 rounded down leave two cents: one to b, the largest; one to a, the earlier of a tie.
    assert discounts(result) == [D("0.01"), D("0.03"), D(0)]


def test_a_cart_discount_shared_in_thirds_sums_exactly():
    result = priced([line("a", "1.00"), line("b", "1.00"), line("c", "1.00")],
                    [promo(1, actions=[fixed_off_cart("1.00")])])
    assert discounts(result) == [D("0.34"), D("0.33"), D("0.33")] and result.total == D("2.00")


def test_stacked_cart_percentages_apply_one_after_the_other():
    result = priced([line("a", "100.00")], [promo(1, actions=[percent_off_cart(20)]),
                                            promo(2, actions=[percent_off_cart(5)])])
    assert result.total == D("76.00")  # 20 % off, then 5 % of the 80 left


def test_a_cart_discount_on_a_cart_already_free_gives_nothing():
    result = priced([line("a", "10.00")], [promo(1, actions=[("fixed_off_items", {"amount": D("10.00")})]),
                                           promo(2, actions=[percent_off_cart(10)])])
    assert result.not_applied == {2: "nothing in the cart it discounts"}


# ----------------------------------------------------------------------------- free_shipping

def test_free_shipping_takes_off_the_whole_shipping_price():
    result = priced([line("a", "10.00")], [promo(1, actions=[("free_shipping", {})])], shipping="7.50")
    assert result.applied == {1: D("7.50")} and result.shipping_total == D(0) and result.total == D("10.00")


def test_free_shipping_with_a_maximum_applies_up_to_it():
    result = priced([line("a", "10.00")], [promo(1, actions=[("free_shipping", {"max_shipping": D("7.50")})])],
                    shipping="7.50")
    assert result.applied == {1: D("7.50")}


def test_free_shipping_with_a_maximum_does_not_apply_to_dearer_shipping_and_says_so():
    result = priced([line("a", "10.00")], [promo(1, actions=[("free_shipping", {"max_shipping": D("5.00")})])],
                    shipping="7.50")
    assert result.total == D("17.50")
    assert result.not_applied == {1: "shipping 7.50 is above its maximum of 5.00"}


def test_free_shipping_without_shipping_to_pay_says_so():
    result = priced([line("a", "10.00")], [promo(1, actions=[("free_shipping", {})])])
    assert result.not_applied == {1: "no shipping to discount"}


def test_a_second_free_shipping_finds_nothing_left_to_take():
    result = priced([line("a", "10.00")], [promo(1, actions=[("free_shipping", {})]),
                                           promo(2, actions=[("free_shipping", {})])], shipping="5.00")
    assert result.applied == {1: D("5.00")} and [d.promotion_id for d in result.shipping_discounts] == [1]
    assert result.not_applied == {2: "nothing in the cart it discounts"}


def test_free_shipping_is_not_part_of_the_line_discounts():
    result = priced([line("a", "10.00")], [promo(1, actions=[("free_shipping", {})])], shipping="5.00")
    assert result.discount_total == D(0) and result.subtotal == D("10.00")
