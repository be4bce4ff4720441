"""Untrusted promotion input: the issue's type names, problems that name the field, amounts in the
currency's minor units, times in the store's timezone."""
from decimal import Decimal

from tests.unit.promotions.carts import line, priced
from webapp.promotions.engine import Promotion, Shopper
from webapp.promotions.promotion_input import ACTIONS, CONDITIONS, parse


def test_the_vocabulary_is_the_issues():
    assert set(CONDITIONS) == {"subtotal_above", "subtotal_below", "customer_group", "product_in_cart",
                               "variant_in_cart", "category_in_cart", "first_order", "coupon"}
    assert set(ACTIONS) == {"percentage_off_cart", "percentage_off_items", "fixed_off_cart", "fixed_off_items",
                            "free_shipping", "buy_x_get_y", "free_product"}


def test_a_promotion_parses_into_engine_rules():
    parsed, problems = parse({
        "name": "Shoes week", "priority": 5, "exclusive": True, "starts_at": "2026-12-01T00:00",
        "ends_at": "2026-12-31T23:59",
        "conditions": [{"type": "subtotal_above", "amount": "100.00"}, {"type": "customer_group", "group": "VIP"}],
        "actions": [{"type": "percentage_off_items", "percent": 10, "categories": ["shoes"]},
                    {"type": "buy_x_get_y", "buy": {"quantity": 2}, "get": {"quantity": 1}}]},
        "USD", "America/New_York")
    assert problems == []
    assert parsed.conditions[0].params == {"amount": Decimal("100.00")}
    assert parsed.actions[0].params == {"percent": Decimal(10), "categories": ["shoes"]}
    assert parsed.actions[1].params["percent"] == Decimal(100)
    assert parsed.starts_at.isoformat() == "2026-12-01T05:00:00+00:00"  # midnight in New York


def test_problems_name_the_field_at_fault():
    def first(body, currency="USD"):
        body = {"name": "x", "actions": [{"type": "fixed_off_cart", "amount": "1"}], **body}
        return parse(body, currency)[1][0].field

    assert first({"conditions": [{"type": "subtotal_above", "amount": "1.005"}]}) == "conditions[0].amount"
    assert first({"actions": [{"type": "percentage_off_cart", "percent": 150}]}) == "actions[0].percent"
    assert first({"actions": [{"type": "nope"}]}) == "actions[0].type"
    assert first({"actions": [{"type": "buy_x_get_y", "buy": {"quantity": 0}, "get": {}}]}) == \
        "actions[0].buy.quantity"
    assert first({"conditions": [{"type": "fixed_off_cart", "amount": "10"}]}, "JPY") == "conditions[0].type"
    assert first({"starts_at": "2026-12-02", "ends_at": "2026-12-01"}) == "ends_at"
    assert first({"colour": "red"}) == "colour"
    assert parse({"name": "x", "actions": []}, "USD")[1][0].field == "actions"


def test_rules_parsed_from_the_api_are_what_the_engine_prices():
    def parsed_promotion(id, body):
        parsed, problems = parse({"name": f"P{id}", **body}, "USD")
        assert problems == []
        return Promotion(id, parsed.name, tuple(parsed.conditions), tuple(parsed.actions), parsed.priority,
                         parsed.exclusive, parsed.starts_at, parsed.ends_at, codes=frozenset({"save"}))

    promotions = [
        parsed_promotion(1, {"conditions": [{"type": "category_in_cart", "category": "shoes", "min_quantity": 2},
                                            {"type": "customer_group", "group": "VIP"}],
                             "actions": [{"type": "percentage_off_items", "percent": 10, "categories": ["shoes"]}]}),
        parsed_promotion(2, {"actions": [{"type": "buy_x_get_y", "buy": {"quantity": 1, "products": ["shoe"]},
                                          "get": {"quantity": 1, "products": ["sock"]}, "max_applications": 1}]}),
        parsed_promotion(3, {"actions": [{"type": "fixed_off_items", "amount": "1.00", "per_unit": False}]}),
        parsed_promotion(4, {"conditions": [{"type": "coupon"}, {"type": "subtotal_above", "amount": "50"}],
                             "actions": [{"type": "fixed_off_cart", "amount": "5"}]}),
        parsed_promotion(5, {"actions": [{"type": "free_shipping", "max_shipping": "10.00"},
                                         {"type": "free_product", "product": "tote"}]}),
    ]
    lines = [line("shoe", "50.00", 2, categories=["shoes"]), line("sock", "4.00", 1, categories=["socks"])]
    result = priced(lines, promotions, shipping="6.00", shopper=Shopper(frozenset({"vip"})), codes=["SAVE"])
    assert result.applied == {1: Decimal("10.00"), 2: Decimal("4.00"), 3: Decimal("1.00"), 4: Decimal("5.00"),
                              5: Decimal("6.00")}
    assert result.total == Decimal("84.00")
