"""Routing decisions, pure: platform defaults, what a store may save, and which channels a route
plans for a customer ("first reachable" skips the channels that cannot reach them)."""
import pytest

from webapp.notifications.planner import SKIPPED, SUPPRESSED, PlanRequest, Recipient, StoreInfo, plan_routed
from webapp.notifications.routing import (
    ALL,
    FIRST,
    Route,
    default_route,
    is_rule_routed,
    pick_channels,
    routable_types,
    route_for,
    validate_route,
)

PUSH_SMS_EMAIL = Route(FIRST, ("push", "sms", "email"))


def test_every_routable_type_has_a_default_it_can_be_sent_by():
    types = routable_types()
    assert {t.key for t in types} >= {"payment.failed", "shipping.out_for_delivery", "account.password_reset"}
    for message_type in types:
        route = default_route(message_type.key)
        assert route.mode in (ALL, FIRST) and route.channels
        assert set(route.channels) <= set(message_type.channels), message_type.key


def test_order_and_invoice_statuses_are_not_routed():
    assert is_rule_routed("order.ready") and is_rule_routed("invoice.closed")
    assert not is_rule_routed("payment.failed")
    assert not any(t.key.startswith(("order.", "invoice.")) for t in routable_types())


def test_defaults_send_tracking_news_to_the_phone_first_and_money_by_email():
    assert default_route("shipping.out_for_delivery") == PUSH_SMS_EMAIL
    assert default_route("payment.failed") == Route(ALL, ("email", "sms"))
    assert default_route("account.password_reset") == Route(ALL, ("email",))


def test_a_stores_override_wins_over_the_default():
    mine = {"payment.failed": Route(FIRST, ("sms", "email"))}
    assert route_for("payment.failed", mine) == Route(FIRST, ("sms", "email"))
    assert route_for("payment.confirmed", mine) == default_route("payment.confirmed")


def test_validate_keeps_the_order_and_drops_repeats():
    assert validate_route("payment.failed", FIRST, ["sms", "email", "sms"]) == Route(FIRST, ("sms", "email"))


@pytest.mark.parametrize(("message_type", "mode", "channels", "problem"), [
    ("payment.failed", "sometimes", ["email"], "mode must be one of"),
    ("payment.failed", ALL, [], "choose at least one channel"),
    ("gdpr.export_ready", ALL, ["email", "sms"], "cannot be sent by sms"),
    ("account.password_reset", FIRST, ["push"], "cannot be sent by push"),
    ("order.ready", ALL, ["email"], "not a routed message type"),
    ("no.such_type", ALL, ["email"], "not a routed message type"),
])
def test_validate_refuses_what_cannot_be_sent(message_type, mode, channels, problem):
    with pytest.raises(ValueError, match=problem):
        validate_route(message_type, mode, channels)


def test_all_plans_every_channel_whatever_can_reach():
    assert pick_channels(Route(ALL, ("email", "sms")), lambda channel: "no phone") == ["email", "sms"]


def test_first_reachable_takes_the_first_channel_without_an_obstacle():
    obstacles = {"push": "no app install"}
    assert pick_channels(PUSH_SMS_EMAIL, obstacles.get) == ["sms"]
    assert pick_channels(PUSH_SMS_EMAIL, {}.get) == ["push"]


def test_first_reachable_with_none_reachable_plans_all_so_each_records_why():
    assert pick_channels(PUSH_SMS_EMAIL, lambda channel: "unreachable") == ["push", "sms", "email"]


def _request(recipient: Recipient, **changes) -> PlanRequest:
    return PlanRequest(kind="shipping", status="out_for_delivery", recipient=recipient, store=StoreInfo("Acme"),
                       order={"number": "#1001"}, message_type="shipping.out_for_delivery", **changes)


BOB = Recipient("Bob", "bob@example.com", "+16135550142", "en")


def test_customer_without_an_app_gets_the_sms():
    [sms] = plan_routed(PUSH_SMS_EMAIL, _request(BOB))
    assert (sms.channel, sms.recipient, sms.status) == ("sms", "+16135550142", "pending")
    assert "#1001" in sms.body and "out for delivery" in sms.body


def test_suppressed_sms_falls_through_to_email():
    [email] = plan_routed(PUSH_SMS_EMAIL, _request(BOB, suppressions={("sms", "+16135550142"): "STOP 2026-11-02"}))
    assert (email.channel, email.recipient) == ("email", "bob@example.com")


def test_nobody_reachable_records_every_channels_reason():
    planned = plan_routed(PUSH_SMS_EMAIL, _request(Recipient("Nobody")))
    assert [(p.channel, p.status) for p in planned] == [("push", SKIPPED), ("sms", SKIPPED), ("email", SKIPPED)]
    assert planned[0].error == "customer has no push_token for push"


def test_app_install_takes_the_push():
    [push] = plan_routed(PUSH_SMS_EMAIL, _request(Recipient("Bob", push_token="fcm:tok-1")))
    assert (push.channel, push.recipient, push.status) == ("push", "fcm:tok-1", "pending")


def test_marketing_first_reachable_skips_a_channel_without_opt_in():
    opted_in_sms = Recipient("Bob", "bob@example.com", "+16135550142", consent={"sms": "opted_in"})
    request = PlanRequest(kind="cart", status="recovery_1", recipient=opted_in_sms, store=StoreInfo("Acme"),
                          message_type="cart.recovery_1")
    [sms] = plan_routed(Route(FIRST, ("email", "sms")), request)
    assert sms.channel == "sms"
    [email] = plan_routed(Route(ALL, ("email",)), request)
    assert email.status == SUPPRESSED and email.error == "not opted in to email marketing"
