import pytest

from webapp import vocabulary
from webapp.notifications.rules import (
    RuleFormError,
    RuleKey,
    RuleState,
    all_rule_keys,
    complete,
    diff_rules,
    matching_rule,
    parse_rules_form,
)

CHANNELS = ["email", "sms"]
SHOPIFY_DELIVERED = RuleKey("order", "shopify", "delivered")


def test_matrix_has_every_source_times_every_status_and_the_invoice_statuses():
    keys = all_rule_keys()
    order_keys = [k for k in keys if k.kind == "order"]
    assert len(order_keys) == len(vocabulary.ORDER_SOURCES) * 7
    for source in ("cto", "fanvista", "shopify", "bigcommerce", "woocommerce", "retailcloud_online"):
        assert {k.status for k in order_keys if k.source == source} == {
            "initiated", "sent_for_processing", "processing", "ready", "delivered", "cancelled", "returned"}
    assert [k.status for k in keys if k.kind == "invoice"] == ["closed", "cancelled"]


def test_rule_label_names_source_and_status():
    assert SHOPIFY_DELIVERED.label == "Shopify · Delivered"
    assert RuleKey("invoice", "invoice", "closed").label == "Invoice · Closed"


def test_form_with_ticked_boxes_becomes_rule_state():
    form = {"order:shopify:delivered:present": "1", "order:shopify:delivered:active": "1",
            "order:shopify:delivered:sms": "1"}
    state = parse_rules_form(form, CHANNELS, {})
    assert state[SHOPIFY_DELIVERED] == RuleState(True, frozenset({"sms"}))


def test_row_posted_with_no_boxes_ticked_is_switched_off():
    current = {SHOPIFY_DELIVERED: RuleState(True, frozenset({"email"}))}
    state = parse_rules_form({"order:shopify:delivered:present": "1"}, CHANNELS, current)
    assert state[SHOPIFY_DELIVERED] == RuleState(False, frozenset())


def test_rows_missing_from_the_post_keep_their_state():
    current = {SHOPIFY_DELIVERED: RuleState(True, frozenset({"email"}))}
    state = parse_rules_form({}, CHANNELS, current)
    assert state[SHOPIFY_DELIVERED] == current[SHOPIFY_DELIVERED]


@pytest.mark.parametrize("field", [
    "order:shopify:delivered:fax",
    "order:etsy:delivered:present",
    "order:shopify:teleported:active",
    "garbage",
])
def test_unknown_fields_are_refused(field):
    with pytest.raises(RuleFormError, match="Unknown field"):
        parse_rules_form({field: "1"}, CHANNELS, {})


def test_partly_posted_row_is_refused():
    with pytest.raises(RuleFormError, match="partly submitted"):
        parse_rules_form({"order:shopify:delivered:active": "1"}, CHANNELS, {})


def test_diff_lists_only_changed_rules_with_old_and_new():
    saved = {SHOPIFY_DELIVERED: RuleState(True, frozenset({"email"}))}
    submitted = complete(saved) | {SHOPIFY_DELIVERED: RuleState(True, frozenset({"email", "sms"}))}
    [change] = diff_rules(saved, submitted)
    assert change.key == SHOPIFY_DELIVERED
    assert change.old.channels == {"email"} and change.new.channels == {"email", "sms"}


def test_matching_rule_requires_active_and_a_channel():
    rules = complete({
        SHOPIFY_DELIVERED: RuleState(True, frozenset({"email"})),
        RuleKey("order", "shopify", "ready"): RuleState(False, frozenset({"email"})),
        RuleKey("order", "shopify", "cancelled"): RuleState(True, frozenset()),
        RuleKey("invoice", "invoice", "closed"): RuleState(True, frozenset({"sms"})),
    })
    assert matching_rule(rules, "order", "shopify", "delivered").channels == {"email"}
    assert matching_rule(rules, "order", "shopify", "ready") is None
    assert matching_rule(rules, "order", "shopify", "cancelled") is None
    assert matching_rule(rules, "order", "woocommerce", "delivered") is None
    # Invoice rules apply whatever system the invoice came from.
    assert matching_rule(rules, "invoice", "cto", "closed").channels == {"sms"}
