from webapp.views.read.audit_labels import action_label, describe_value


def test_rule_states_read_as_words():
    assert describe_value({"active": True, "channels": ["email", "sms"]}) == "Active · Email, SMS"
    assert describe_value({"active": False, "channels": []}) == "Inactive · no channels"


def test_other_values_fall_back_to_json_and_missing_to_a_dash():
    assert describe_value({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'
    assert describe_value(None) == "—"
    assert action_label("something.new") == "something.new"


def test_every_action_the_app_records_has_a_readable_label():
    import re
    from pathlib import Path

    source = "\n".join(p.read_text() for p in Path("webapp").rglob("*.py"))
    recorded = set(re.findall(r'record\([^)]*?"([a-z_]+\.[a-z_]+)"', source, re.S))
    assert recorded, "no audit actions found"
    assert {action for action in recorded if action_label(action) == action} == set()
