"""Each condition: it lets its promotion apply when it holds, and says why not when it does not.
Conditions are judged on the cart as filled, before any discount."""
from tests.unit.promotions.carts import D, fixed_off_cart, line, percent_off_cart, priced, promo
from webapp.promotions.engine import Shopper

TEN_OFF = percent_off_cart(10)


def test_subtotal_above_applies_when_the_subtotal_is_above_the_amount():
    result = priced([line("a", "100.01")], [promo(1, [("subtotal_above", {"amount": D("100.00")})], [TEN_OFF])])
    assert result.applied == {1: D("10.00")}


def test_subtotal_above_says_the_subtotal_is_not_above_the_amount():
    result = priced([line("a", "99.99")], [promo(1, [("subtotal_above", {"amount": D("100.00")})], [TEN_OFF])])
    assert result.not_applied == {1: "subtotal 99.99 is not above 100.00"}


def test_subtotal_above_is_strict_at_the_amount_itself():
    result = priced([line("a", "100.00")], [promo(1, [("subtotal_above", {"amount": D("100.00")})], [TEN_OFF])])
    assert result.not_applied == {1: "subtotal 100.00 is not above 100.00"}


def test_subtotal_reasons_show_amounts_in_the_currencys_minor_units():
    result = priced([line("a", "40", 2)], [promo(1, [("subtotal_above", {"amount": D(100)})], [TEN_OFF])])
    assert result.not_applied == {1: "subtotal 80.00 is not above 100.00"}


def test_subtotal_below_applies_under_the_amount_and_says_why_not_otherwise():
    rule = ("subtotal_below", {"amount": D("50.00")})
    assert priced([line("a", "49.99")], [promo(1, [rule], [TEN_OFF])]).applied == {1: D("5.00")}
    assert priced([line("a", "50.00")], [promo(1, [rule], [TEN_OFF])]).not_applied == \
        {1: "subtotal 50.00 is not below 50.00"}


def test_the_subtotal_is_the_cart_before_discounts_of_higher_priority_promotions():
    result = priced([line("a", "120.00")], [
        promo(1, actions=[percent_off_cart(50)], priority=1),
        promo(2, [("subtotal_above", {"amount": D("100.00")})], [fixed_off_cart("5.00")], priority=2)])
    assert result.applied == {1: D("60.00"), 2: D("5.00")}


def test_customer_group_applies_to_a_shopper_in_the_group_whatever_the_case():
    shopper = Shopper(frozenset({"wholesale"}))
    result = priced([line("a", "10.00")], [promo(1, [("customer_group", {"group": "Wholesale"})], [TEN_OFF])],
                    shopper=shopper)
    assert result.applied == {1: D("1.00")}


def test_customer_group_says_the_shopper_is_not_in_the_group():
    result = priced([line("a", "10.00")], [promo(1, [("customer_group", {"group": "Wholesale"})], [TEN_OFF])],
                    shopper=Shopper(frozenset({"Retail"})))
    assert result.not_applied == {1: "not in shopper group Wholesale"}


def test_first_order_applies_only_to_a_shopper_without_orders():
    welcome = promo(1, [("first_order", {})], [TEN_OFF])
    assert priced([line("a", "10.00")], [welcome], shopper=Shopper(orders_count=0)).applied == {1: D("1.00")}
    assert priced([line("a", "10.00")], [welcome], shopper=Shopper(orders_count=3)).not_applied == \
        {1: "not the customer's first order"}


def test_product_in_cart_needs_the_minimum_quantity_of_the_product():
    rule = ("product_in_cart", {"value": "shoe", "min_quantity": 2})
    assert priced([line("shoe", "10.00", 2)], [promo(1, [rule], [TEN_OFF])]).applied == {1: D("2.00")}
    assert priced([line("shoe", "10.00", 1)], [promo(1, [rule], [TEN_OFF])]).not_applied == \
        {1: "needs 2 of shoe in the cart (1)"}


def test_product_in_cart_counts_the_products_units_across_its_lines():
    lines = [line("s1", "10.00", 1, product="shoe", variant="red"), line("s2", "10.00", 1, product="shoe",
                                                                          variant="blue")]
    result = priced(lines, [promo(1, [("product_in_cart", {"value": "shoe", "min_quantity": 2})], [TEN_OFF])])
    assert result.applied == {1: D("2.00")}


def test_variant_in_cart_needs_that_variant_not_another_of_the_same_product():
    rule = ("variant_in_cart", {"value": "shoe-red", "min_quantity": 1})
    assert priced([line("a", "10.00", product="shoe", variant="shoe-red")], [promo(1, [rule], [TEN_OFF])]).applied \
        == {1: D("1.00")}
    assert priced([line("a", "10.00", product="shoe", variant="shoe-blue")],
                  [promo(1, [rule], [TEN_OFF])]).not_applied == {1: "needs 1 of shoe-red in the cart (0)"}


def test_category_in_cart_counts_units_of_every_line_in_the_category():
    lines = [line("a", "10.00", 2, categories=["shoes"]), line("b", "10.00", 1, categories=["shoes", "sale"]),
             line("c", "10.00", 5, categories=["socks"])]
    rule = ("category_in_cart", {"value": "shoes", "min_quantity": 3})
    assert priced(lines, [promo(1, [rule], [TEN_OFF])]).applied == {1: D("8.00")}
    assert priced(lines[1:], [promo(1, [rule], [TEN_OFF])]).not_applied == {1: "needs 3 of shoes in the cart (1)"}


def test_a_coupon_applies_with_one_of_its_codes_entered_in_any_case():
    coupon = promo(1, [("coupon", {})], [TEN_OFF], codes=frozenset({"save10", "vip10"}))
    assert priced([line("a", "10.00")], [coupon], codes=[" VIP10 "]).applied == {1: D("1.00")}


def test_a_coupon_without_its_code_does_not_apply():
    coupon = promo(1, [("coupon", {})], [TEN_OFF], codes=frozenset({"save10"}))
    assert priced([line("a", "10.00")], [coupon], codes=["other"]).not_applied == \
        {1: "no valid coupon code entered for it"}
    assert priced([line("a", "10.00")], [coupon]).not_applied == {1: "no valid coupon code entered for it"}


def test_a_coupon_whose_entered_code_is_used_up_says_so():
    coupon = promo(1, [("coupon", {})], [TEN_OFF], codes=frozenset({"save10"}), spent_codes=frozenset({"once"}))
    assert priced([line("a", "10.00")], [coupon], codes=["ONCE"]).not_applied == {1: "coupon used up"}


def test_every_condition_must_hold_and_the_first_that_fails_is_the_reason():
    both = promo(1, [("product_in_cart", {"value": "a", "min_quantity": 1}),
                     ("subtotal_above", {"amount": D("50.00")})], [TEN_OFF])
    assert priced([line("a", "60.00")], [both]).applied == {1: D("6.00")}
    assert priced([line("a", "40.00")], [both]).not_applied == {1: "subtotal 40.00 is not above 50.00"}


def test_an_unknown_condition_never_holds():
    result = priced([line("a", "10.00")], [promo(1, [("moon_phase", {})], [TEN_OFF])])
    assert result.not_applied == {1: "unknown condition moon_phase"}
