"""The checkout API's body parsed into a cart, or problems that name the field."""
from decimal import Decimal

from webapp.promotions.checkout_input import parse

LINE = {"id": "1", "product": "mug", "variant": "mug-blue", "categories": ["Kitchen"], "quantity": 2,
        "unit_price": "12.50"}


def fields(data, **kw):
    return [p.field for p in parse(data, "USD", **kw)[1]]


def test_a_whole_checkout_parses_into_cart_and_shopper():
    parsed, problems = parse({"currency": "usd", "customer": {"email": " Ann@Example.com", "groups": ["VIP"],
                                                              "orders_count": 3},
                              "lines": [LINE], "shipping": {"price": "4.99"}, "codes": ["Save", "save", " x "],
                              "gift_cards": ["G1"], "store_credit": True}, "USD")
    assert problems == []
    assert parsed.currency == "USD" and parsed.email == "ann@example.com"
    assert parsed.shopper.groups == frozenset({"VIP"}) and parsed.shopper.orders_count == 3
    line = parsed.cart.lines[0]
    assert (line.product, line.variant, line.quantity, line.unit_price) == ("mug", "mug-blue", 2, Decimal("12.50"))
    assert parsed.cart.shipping == Decimal("4.99")
    assert parsed.codes == ["Save", "x"]  # case-insensitive duplicates dropped


def test_each_bad_value_is_named():
    assert fields({"lines": [{**LINE, "unit_price": "1.001"}]}) == ["lines[0].unit_price"]
    assert fields({"lines": [{**LINE, "quantity": 0}]}) == ["lines[0].quantity"]
    assert fields({"lines": [LINE, LINE]}) == ["lines[1].id"]
    assert fields({"lines": []}) == ["lines"]
    assert fields({"lines": [LINE], "currency": "dollars"}) == ["currency"]
    assert fields({"lines": [LINE], "customer": {"email": "nope"}}) == ["customer.email"]
    assert fields({"lines": [LINE], "shipping": {"price": "-1"}}) == ["shipping.price"]
    assert fields({"lines": [LINE], "store_credit": True}) == ["customer.email"]
    assert fields({"lines": [LINE], "colour": "red"}) == ["colour"]
    assert fields({"lines": [LINE]}, needs_number=True) == ["number"]
    assert fields([]) == ["body"]


def test_yen_has_no_minor_unit_and_dinar_three():
    assert fields({"currency": "JPY", "lines": [{**LINE, "unit_price": "100.5"}]}) == ["lines[0].unit_price"]
    parsed, problems = parse({"currency": "KWD", "lines": [{**LINE, "unit_price": "1.125"}]}, "KWD")
    assert problems == [] and parsed.cart.lines[0].unit_price == Decimal("1.125")


def test_a_gift_line_sent_back_is_left_to_the_engine():
    parsed, problems = parse({"lines": [LINE, {"id": "gift-7", "product": "tote", "quantity": 1,
                                               "unit_price": "0.00"}]}, "USD")
    assert problems == [] and parsed.cart.lines[1].gift_of == 7
    paid, _ = parse({"lines": [{"id": "gift-7", "product": "tote", "quantity": 1, "unit_price": "3.00"}]}, "USD")
    assert paid.cart.lines[0].gift_of is None  # a priced line is the shopper's, whatever its id
