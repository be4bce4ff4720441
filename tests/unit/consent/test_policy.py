"""The consent decision: marketing needs an opt-in on that channel and a topic left on; nothing
goes to a suppressed address; transactional and critical ignore marketing consent."""
import pytest

from webapp.consent.policy import CRITICAL, MARKETING, TRANSACTIONAL, decide


@pytest.mark.parametrize("consent, reason", [
    (None, "not opted in to SMS marketing"),
    ("opted_out", "opted out of SMS marketing"),
    ("never_asked", "not opted in to SMS marketing"),
])
def test_marketing_without_an_opt_in_is_refused_with_its_reason(consent, reason):
    decision = decide(MARKETING, "sms", None, consent)
    assert (decision.allowed, decision.reason) == (False, reason)


def test_marketing_with_an_opt_in_goes_unless_its_topic_is_muted():
    assert decide(MARKETING, "email", None, "opted_in", "news").allowed
    muted = decide(MARKETING, "email", None, "opted_in", "cart", frozenset({"cart"}))
    assert (muted.allowed, muted.reason) == (False, "turned off “Cart reminders” in the preference centre")
    assert decide(MARKETING, "email", None, "opted_in", "news", frozenset({"cart"})).allowed


@pytest.mark.parametrize("priority", [TRANSACTIONAL, CRITICAL])
def test_order_and_account_messages_ignore_marketing_consent(priority):
    assert decide(priority, "email", None, "opted_out").allowed
    assert decide(priority, "email", None, None).allowed


@pytest.mark.parametrize("priority", [TRANSACTIONAL, CRITICAL, MARKETING])
def test_a_suppressed_address_gets_nothing_whatever_the_type(priority):
    decision = decide(priority, "sms", "opted out (STOP) 2026-11-02", "opted_in")
    assert (decision.allowed, decision.reason) == (False, "suppressed: opted out (STOP) 2026-11-02")
