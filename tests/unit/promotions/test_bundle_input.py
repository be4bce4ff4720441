"""A bundle's API body parsed into the engine's bundle action, or problems naming the field."""
from decimal import Decimal

from webapp.promotions.bundle_input import parse


def test_a_bundle_becomes_one_bundle_action():
    parsed, problems = parse({"name": "Kit", "items": [{"product": "pot", "quantity": 1},
                                                      {"product": "lid", "variant": "lid-24", "quantity": 2}],
                              "percent": 15, "priority": 5, "exclusive": True}, "USD")
    assert problems == []
    assert parsed.action.type == "bundle" and parsed.action.params["percent"] == Decimal(15)
    assert parsed.action.params["items"][1] == {"product": "lid", "variant": "lid-24", "quantity": 2}
    assert (parsed.priority, parsed.exclusive) == (5, True)


def test_problems_name_the_field():
    def fields(data):
        return [p.field for p in parse(data, "USD")[1]]

    assert fields({"name": "Kit", "items": [{"product": "pot", "quantity": 0}], "amount": "5"}) == ["items[0].quantity"]
    assert fields({"name": "Kit", "items": [{"product": "pot"}], "amount": "5", "percent": 5}) == ["percent"]
    assert fields({"name": "Kit", "items": [{"product": "pot"}]}) == ["percent"]
    assert fields({"name": "Kit", "items": [{"product": "pot"}], "amount": "0"}) == ["amount"]
    assert fields({"name": "", "items": [], "percent": 200}) == ["name", "items", "percent"]
