"""Segment rules: the API's vocabulary, refused input naming its field, and matching."""
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from webapp.campaigns.segment_rules import FIELDS, OPERATORS, Profile, as_json, matches, parse

VIP = Profile(tags=frozenset({"Sale", "winter"}), groups=frozenset({"VIP"}), locale="pt-BR", country="BR",
              orders_count=3, total_spent=Decimal("250.50"), last_order_at=datetime(2026, 10, 1, tzinfo=UTC))
NEWCOMER = Profile(locale="en", country="US")


def segment(match, *conditions):
    parsed_match, parsed, problems = parse(match, list(conditions))
    assert problems == []
    return parsed_match, parsed


def test_the_api_vocabulary_is_exactly_the_issues():
    # The API's fields, and the issue's "whether they opened or clicked a recent campaign".
    assert set(FIELDS) == {"tags", "groups", "locale", "country", "orders_count", "total_spent", "last_order_at",
                           "last_opened_at", "last_clicked_at"}
    assert {op for ops in OPERATORS.values() for op in ops} == {
        "any_of", "all_of", "none_of", "eq", "gt", "lt", "before", "after"}


def test_list_fields_any_all_none_ignore_case():
    for op, value, vip in (("any_of", ["sale", "x"], True), ("all_of", ["SALE", "winter"], True),
                           ("all_of", ["sale", "x"], False), ("none_of", ["sale"], False)):
        assert matches(*segment("all", {"field": "tags", "op": op, "value": value}), VIP) is vip
    assert matches(*segment("all", {"field": "tags", "op": "none_of", "value": ["sale"]}), NEWCOMER)


def test_numbers_dates_and_text():
    assert matches(*segment("all", {"field": "orders_count", "op": "gt", "value": 2},
                            {"field": "total_spent", "op": "lt", "value": "300"},
                            {"field": "last_order_at", "op": "after", "value": "2026-09-01"},
                            {"field": "country", "op": "eq", "value": "br"},
                            {"field": "locale", "op": "eq", "value": "pt"}), VIP)
    # A customer who never ordered is neither before nor after a date.
    for op in ("before", "after"):
        assert not matches(*segment("all", {"field": "last_order_at", "op": op, "value": "2026-01-01"}), NEWCOMER)


def test_any_is_or_and_no_conditions_is_everyone():
    either = segment("any", {"field": "groups", "op": "any_of", "value": ["VIP"]},
                     {"field": "country", "op": "eq", "value": "US"})
    assert matches(*either, VIP) and matches(*either, NEWCOMER)
    assert matches(*segment("all"), NEWCOMER)


def test_bad_input_names_the_field_at_fault():
    _, parsed, problems = parse("some", [{"field": "tags", "op": "gt", "value": 1},
                                         {"field": "shoe_size", "op": "eq", "value": 9},
                                         {"field": "orders_count", "op": "gt", "value": "many"},
                                         {"field": "last_order_at", "op": "before", "value": "yesterday"},
                                         {"field": "tags", "op": "any_of", "value": []}, "tags"])
    assert parsed == []
    assert [problem.field for problem in problems] == [
        "match", "conditions[0].op", "conditions[1].field", "conditions[2].value", "conditions[3].value",
        "conditions[4].value", "conditions[5]"]
    assert parse("all", "tags")[2][0].field == "conditions"


def test_stored_shape_parses_back_to_the_same_segment():
    match, parsed = segment("any", {"field": "tags", "op": "all_of", "value": ["b", "a"]},
                            {"field": "total_spent", "op": "gt", "value": 10.5},
                            {"field": "last_order_at", "op": "before", "value": "2026-01-01T00:00:00Z"})
    stored = as_json(match, parsed)
    assert stored["conditions"][0]["value"] == ["a", "b"]
    assert segment(stored["match"], *stored["conditions"]) == (match, parsed)


tags = st.frozensets(st.sampled_from(["a", "b", "c", "d"]), max_size=4)
conditions = st.lists(st.builds(lambda field, op, value: {"field": field, "op": op, "value": sorted(value)},
                                st.sampled_from(["tags", "groups"]), st.sampled_from(["any_of", "all_of", "none_of"]),
                                tags.filter(bool)), max_size=5)


@given(conditions, tags, tags)
def test_all_is_the_and_and_any_the_or_of_single_conditions(raw, customer_tags, customer_groups):
    profile = Profile(tags=customer_tags, groups=customer_groups)
    singles = [matches(*segment("all", condition), profile) for condition in raw]
    assert matches(*segment("all", *raw), profile) == all(singles)
    assert matches(*segment("any", *raw), profile) == (any(singles) if raw else True)
