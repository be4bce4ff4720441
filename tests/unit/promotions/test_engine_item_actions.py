"""Item-level actions: percentage and fixed amounts off chosen items, buy X get Y, free products
and bundles."""
from tests.unit.promotions.carts import ANYONE, NOW, D, discounts, line, priced, promo
from webapp.promotions.engine import Cart, Line, price


def items_off(percent, **targets):
    return "percentage_off_items", {"percent": D(percent), **targets}


def amount_off_items(amount, per_unit=True, **targets):
    return "fixed_off_items", {"amount": D(amount), "per_unit": per_unit, **targets}


def buy_get(buy, get, percent=100, most=None, buy_from=None, get_from=None):
    params = {"buy": {"quantity": buy, **(buy_from or {})}, "get": {"quantity": get, **(get_from or {})},
              "percent": D(percent)}
    return "buy_x_get_y", params | ({"max_applications": most} if most else {})


SHOES = [line("shoe", "80.00", 1, variant="shoe-red", categories=["shoes"]),
         line("boot", "120.00", 1, variant="boot-black", categories=["shoes"]),
         line("sock", "5.00", 2, variant="sock-grey", categories=["socks"])]


# ----------------------------------------------------------------------------- percentage_off_items

def test_percentage_off_items_by_product_discounts_only_that_product():
    result = priced(SHOES, [promo(1, actions=[items_off(25, products=["boot"])])])
    assert discounts(result) == [D(0), D("30.00"), D(0)]


def test_percentage_off_items_by_variant_discounts_only_that_variant():
    result = priced(SHOES, [promo(1, actions=[items_off(10, variants=["shoe-red"])])])
    assert discounts(result) == [D("8.00"), D(0), D(0)]


def test_percentage_off_items_by_category_discounts_every_line_in_it():
    result = priced(SHOES, [promo(1, actions=[items_off(10, categories=["shoes"])])])
    assert discounts(result) == [D("8.00"), D("12.00"), D(0)] and result.applied == {1: D("20.00")}


def test_percentage_off_items_without_targets_discounts_every_line():
    assert discounts(priced(SHOES, [promo(1, actions=[items_off(10)])])) == [D("8.00"), D("12.00"), D("1.00")]


def test_percentage_off_items_for_products_not_in_the_cart_says_there_is_nothing_to_discount():
    result = priced(SHOES, [promo(1, actions=[items_off(10, products=["hat"], categories=["hats"])])])
    assert result.not_applied == {1: "nothing in the cart it discounts"} and result.total == D("210.00")


def test_percentage_off_items_rounds_half_up_on_each_line():
    lines = [line("a", "0.05"), line("b", "0.05")]
    result = priced(lines, [promo(1, actions=[items_off(50)])])
    assert discounts(result) == [D("0.03"), D("0.03")]  # 0.025 each, rounded up on each line


def test_a_second_item_percentage_applies_to_what_the_first_left():
    result = priced([line("a", "100.00")], [promo(1, actions=[items_off(50)]), promo(2, actions=[items_off(10)])])
    assert result.applied == {1: D("50.00"), 2: D("5.00")}


# ----------------------------------------------------------------------------- fixed_off_items

def test_fixed_off_items_per_unit_takes_the_amount_off_each_unit():
    result = priced([line("sock", "5.00", 3)], [promo(1, actions=[amount_off_items("1.00")])])
    assert result.applied == {1: D("3.00")} and result.total == D("12.00")


def test_fixed_off_items_once_takes_the_amount_off_once_whatever_the_quantity():
    result = priced([line("sock", "5.00", 3)], [promo(1, actions=[amount_off_items("1.00", per_unit=False)])])
    assert result.applied == {1: D("1.00")} and result.total == D("14.00")


def test_fixed_off_items_once_is_once_for_the_order_shared_across_the_matching_lines():
    result = priced(SHOES, [promo(1, actions=[amount_off_items("10.00", per_unit=False, categories=["shoes"])])])
    assert result.applied == {1: D("10.00")}
    assert discounts(result) == [D("4.00"), D("6.00"), D(0)]  # in proportion to 80 and 120


def test_fixed_off_items_only_takes_the_targeted_lines():
    result = priced(SHOES, [promo(1, actions=[amount_off_items("2.00", products=["sock"])])])
    assert discounts(result) == [D(0), D(0), D("4.00")]


def test_fixed_off_items_is_capped_at_the_line_so_it_never_goes_below_zero():
    result = priced([line("a", "5.00", 2)], [promo(1, actions=[amount_off_items("8.00")])])
    assert result.applied == {1: D("10.00")} and result.total == D("0.00")


def test_fixed_off_items_once_is_capped_at_the_matching_lines():
    result = priced([line("a", "3.00"), line("b", "50.00")],
                    [promo(1, actions=[amount_off_items("10.00", per_unit=False, products=["a"])])])
    assert discounts(result) == [D("3.00"), D(0)]


# ----------------------------------------------------------------------------- buy_x_get_y

def test_buy_two_get_one_free_rewards_the_cheapest_unit():
    result = priced([line("a", "30.00"), line("b", "20.00"), line("c", "10.00")], [promo(1, actions=[buy_get(2, 1)])])
    assert discounts(result) == [D(0), D(0), D("10.00")]


def test_buy_two_get_one_with_mixed_prices_rewards_the_cheapest_of_each_set():
    lines = [line("a", "30.00", 2), line("b", "10.00", 2), line("c", "20.00", 2)]
    result = priced(lines, [promo(1, actions=[buy_get(2, 1)])])
    assert result.applied == {1: D("20.00")}  # 6 units: two sets, each rewarding a 10.00 unit


def test_buy_x_get_y_repeats_once_per_full_set_only():
    five = [line("a", "10.00", 5)]  # one full set of three, two units left over
    assert priced(five, [promo(1, actions=[buy_get(2, 1)])]).applied == {1: D("10.00")}
    six = [line("a", "10.00", 6)]
    assert priced(six, [promo(1, actions=[buy_get(2, 1)])]).applied == {1: D("20.00")}


def test_buy_x_get_y_stops_at_max_applications():
    result = priced([line("a", "10.00", 9)], [promo(1, actions=[buy_get(2, 1, most=2)])])
    assert result.applied == {1: D("20.00")}


def test_buy_x_get_y_at_a_percent_below_100_takes_that_share_of_the_reward():
    result = priced([line("a", "30.00"), line("b", "10.00", 2)], [promo(1, actions=[buy_get(2, 1, percent=50)])])
    assert result.applied == {1: D("5.00")}


def test_buy_x_get_y_with_disjoint_sets_rewards_units_of_the_reward_set():
    lines = [line("shoe", "50.00", 4, categories=["shoes"]), line("sock", "5.00", 3, categories=["socks"])]
    pair = buy_get(2, 1, buy_from={"categories": ["shoes"]}, get_from={"categories": ["socks"]})
    assert priced(lines, [promo(1, actions=[pair])]).applied == {1: D("10.00")}  # two sets, two socks


def test_buy_x_get_y_without_a_full_set_gives_nothing():
    result = priced([line("a", "10.00", 2)], [promo(1, actions=[buy_get(2, 1)])])
    assert result.not_applied == {1: "nothing in the cart it discounts"}


def test_buy_x_get_y_rounds_the_reward_half_up_to_the_minor_unit():
    result = priced([line("a", "0.05", 3)], [promo(1, actions=[buy_get(2, 1, percent=50)])])
    assert result.applied == {1: D("0.03")} and result.total == D("0.12")  # 0.025 → 0.03


def test_buy_x_get_y_rewards_whole_minor_units_of_a_line_already_discounted_unevenly():
    # 29.99 left of three units: a unit is 9.99666…; the reward is whole cents, never more than that.
    result = priced([line("a", "10.00", 3)], [promo(1, actions=[amount_off_items("0.01", per_unit=False)], priority=1),
                                             promo(2, actions=[buy_get(2, 1)], priority=2)])
    assert result.applied == {1: D("0.01"), 2: D("9.99")} and result.total == D("20.00")


def test_buy_x_get_y_never_rewards_a_free_gift():
    gift = promo(1, actions=[("free_product", {"product": "tote"})], priority=1)
    result = priced([line("a", "10.00", 3)], [gift, promo(2, actions=[buy_get(2, 1)], priority=2)])
    assert result.applied == {1: D(0), 2: D("10.00")}  # a 10.00 unit, not the tote at 0


# ----------------------------------------------------------------------------- free_product

GIFT_OVER_50 = promo(1, [("subtotal_above", {"amount": D("50.00")})], [("free_product", {"product": "tote"})])


def test_a_free_product_is_added_at_zero_while_the_conditions_hold():
    result = priced([line("a", "60.00")], [GIFT_OVER_50])
    gift = result.lines[-1].line
    assert (gift.product, gift.quantity, gift.unit_price, gift.gift_of) == ("tote", 1, D(0), 1)
    assert result.total == D("60.00") and result.applied == {1: D(0)}


def test_a_free_product_is_not_added_when_the_conditions_do_not_hold():
    result = priced([line("a", "40.00")], [GIFT_OVER_50])
    assert [pl.line.product for pl in result.lines] == ["a"]


def test_a_free_product_disappears_when_a_line_is_removed_and_the_condition_stops_holding():
    cart = Cart("USD", (line("a", "40.00"), line("b", "20.00")))
    first = price(cart, ANYONE, (), [GIFT_OVER_50], NOW)
    assert [pl.line.product for pl in first.lines] == ["a", "b", "tote"]
    # The shopper removes b; the cart they send back still holds the gift line from before.
    again = Cart("USD", tuple(pl.line for pl in first.lines if pl.line.id != "b"))
    second = price(again, ANYONE, (), [GIFT_OVER_50], NOW)
    assert [pl.line.product for pl in second.lines] == ["a"] and second.total == D("40.00")


def test_a_free_product_is_added_once_however_often_the_cart_is_priced():
    first = priced([line("a", "60.00")], [GIFT_OVER_50])
    again = price(Cart("USD", tuple(pl.line for pl in first.lines)), ANYONE, (), [GIFT_OVER_50], NOW)
    assert [pl.line.product for pl in again.lines] == ["a", "tote"]


def test_a_gift_line_does_not_count_towards_conditions():
    stale = Line("gift-1", "tote", None, 1, D("0"), gift_of=1)
    result = priced([line("a", "10.00"), stale],
                    [promo(2, [("product_in_cart", {"value": "tote", "min_quantity": 1})], [items_off(10)])])
    assert result.not_applied == {2: "needs 1 of tote in the cart (0)"}


def test_a_free_product_can_give_a_variant_and_a_quantity():
    result = priced([line("a", "10.00")], [promo(1, actions=[("free_product", {"product": "sock", "variant": "s-red",
                                                                               "quantity": 2})])])
    gift = result.lines[-1].line
    assert (gift.variant, gift.quantity, gift.subtotal) == ("s-red", 2, D(0))


# ----------------------------------------------------------------------------- bundles

def kit(**discount):
    items = [{"product": "camera", "quantity": 1}, {"product": "lens", "quantity": 2}]
    return promo(7, actions=[("bundle", {"items": items, **discount})], name="Camera kit")


def test_a_bundle_applies_once_for_one_complete_set():
    result = priced([line("camera", "500.00", 1), line("lens", "100.00", 3)], [kit(amount=D("50.00"))])
    assert result.applied == {7: D("50.00")}


def test_a_bundle_applies_twice_for_two_complete_sets():
    result = priced([line("camera", "500.00", 2), line("lens", "100.00", 4)], [kit(amount=D("50.00"))])
    assert result.applied == {7: D("100.00")}


def test_a_bundle_does_not_apply_without_a_complete_set():
    result = priced([line("camera", "500.00", 1), line("lens", "100.00", 1)], [kit(amount=D("50.00"))])
    assert result.not_applied == {7: "nothing in the cart it discounts"}


def test_a_bundle_does_not_apply_when_a_component_is_missing():
    result = priced([line("lens", "100.00", 4)], [kit(amount=D("50.00"))])
    assert 7 in result.not_applied and result.total == D("400.00")


def test_a_percentage_bundle_takes_the_percent_of_the_sets_value_only():
    result = priced([line("camera", "500.00", 1), line("lens", "100.00", 3)], [kit(percent=D(10))])
    assert result.applied == {7: D("70.00")}  # 10 % of 500 + 2 × 100; the third lens pays in full
    assert discounts(result) == [D("50.00"), D("20.00")]


def test_a_fixed_bundle_discount_is_shared_by_the_value_each_component_brings():
    result = priced([line("camera", "500.00", 1), line("lens", "100.00", 2)], [kit(amount=D("70.00"))])
    assert discounts(result) == [D("50.00"), D("20.00")]


def test_a_bundle_can_name_a_variant():
    items = [{"product": "tee", "variant": "tee-red", "quantity": 2}]
    bundle = promo(1, actions=[("bundle", {"items": items, "percent": D(50)})])
    lines = [line("t1", "10.00", 2, product="tee", variant="tee-blue"), line("t2", "10.00", 2, product="tee",
                                                                              variant="tee-red")]
    assert discounts(priced(lines, [bundle])) == [D(0), D("10.00")]


def test_a_percentage_bundle_rounds_to_the_minor_unit():
    items = [{"product": "a", "quantity": 1}, {"product": "b", "quantity": 1}]
    bundle = promo(8, actions=[("bundle", {"items": items, "percent": D(10)})])
    result = priced([line("a", "10.00"), line("b", "5.01")], [bundle])
    assert result.applied == {8: D("1.50")} and result.total == D("13.51")


def test_a_bundle_never_counts_one_unit_for_two_of_its_items():
    shirts = promo(8, actions=[("bundle", {"items": [{"product": "shirt", "variant": None, "quantity": 1},
                                                     {"product": "shirt", "variant": "red", "quantity": 1}],
                                           "percent": D(50)})])
    assert priced([line("1", "10.00", 1, product="shirt", variant="red")], [shirts]).applied == {}
    two = priced([line("1", "10.00", 1, product="shirt", variant="red"),
                  line("2", "10.00", 1, product="shirt", variant="blue")], [shirts])
    assert two.applied == {8: D("10.00")}  # the red one for the red item, the blue one for "any shirt"


def test_a_bundle_share_of_unevenly_discounted_units_drops_no_cent():
    # Three pots discounted to 19.99 together: a pot is worth 6.6633…, not whole cents.
    result = priced([line("pot", "10.00", 3), line("lid", "5.00", 1)],
                    [promo(1, actions=[("fixed_off_items", {"amount": D("10.01"), "per_unit": False,
                                                            "products": ["pot"]})]),
                     promo(2, actions=[("bundle", {"items": [{"product": "pot", "variant": None, "quantity": 1},
                                                             {"product": "lid", "variant": None, "quantity": 1}],
                                                   "percent": D(50)})])])
    # Half of one pot (19.99 / 3) and the lid: 5.8316… → 5.83, every cent of it on the lines.
    assert result.applied[2] == D("5.83")
    assert sum(d.amount for pl in result.lines for d in pl.discounts if d.promotion_id == 2) == D("5.83")
