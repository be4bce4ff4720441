from dataclasses import replace

from webapp.dispatch.planned import PENDING
from webapp.notifications.planner import (
    FAILED,
    SKIPPED,
    SUPPRESSED,
    PlanRequest,
    Recipient,
    StoreInfo,
    plan_for_event,
    plan_messages,
)
from webapp.notifications.rules import RuleKey, RuleState, complete

RULES = complete({RuleKey("order", "shopify", "cancelled"): RuleState(True, frozenset({"email", "sms"}))})
ORDER = {"number": "#1001", "status": "cancelled", "total": "409.94", "currency": "USD",
         "lines": [{"name": "IPod Nano", "quantity": 1, "price": "199.00"}], "tracking": None}
BOB = Recipient("Bob Norman", "bob@example.com", "+16135550142", "en")


def request(**changes) -> PlanRequest:
    fields = {"kind": "order", "status": "cancelled", "recipient": BOB, "store": StoreInfo("Acme", "en"),
              "order": ORDER}
    return PlanRequest(**(fields | changes))


def test_active_rule_plans_one_rendered_message_per_channel():
    email, sms = plan_for_event(RULES, "shopify", request())
    assert (email.channel, email.status, email.recipient) == ("email", PENDING, "bob@example.com")
    assert email.subject == "Order #1001 was cancelled"
    assert "Hi Bob," in email.body and "IPod Nano" in email.body
    assert (sms.channel, sms.recipient) == ("sms", "+16135550142")
    assert sms.body == "Acme: Your order #1001 was cancelled."
    assert email.priority == "critical" and email.message_type == "order.cancelled"


def test_no_matching_active_rule_plans_nothing():
    assert plan_for_event(RULES, "woocommerce", request()) == []
    assert plan_for_event(RULES, "shopify", request(status="delivered")) == []


def test_missing_phone_is_a_recorded_skip_not_a_crash():
    email, sms = plan_for_event(RULES, "shopify", request(recipient=Recipient("Bob", "bob@example.com")))
    assert email.status == PENDING
    assert sms.status == SKIPPED and sms.error == "customer has no phone for sms"


def test_suppressed_address_is_not_messaged():
    [sms] = plan_messages(["sms"], request(suppressions={("sms", "+16135550142"): "replied STOP"}))
    assert sms.status == SUPPRESSED and "replied STOP" in sms.error


def test_customer_language_is_used_with_fallback():
    french = request(recipient=Recipient("Chloé", "c@example.fr", None, "fr-CA"))
    [email] = plan_messages(["email"], french)
    assert email.locale == "fr" and email.subject == "Commande #1001 annulée"
    klingon = request(recipient=Recipient("Worf", "w@example.com", None, "tlh"), store=StoreInfo("Acme", "de"))
    [email] = plan_messages(["email"], klingon)
    assert email.locale == "de"


def test_broken_template_fails_that_channel_and_the_others_still_go_out():
    overrides = {("order.cancelled", "email", "en"): {"subject": "{{ order.nope.deeper }}", "body": "x"}}
    email, sms = plan_messages(["email", "sms"], request(templates=overrides))
    assert email.status == FAILED and "template error" in email.error
    assert sms.status == PENDING


def test_templates_are_sandboxed():
    overrides = {("order.cancelled", "sms", "en"): {"body": "{{ ''.__class__.__mro__ }}"}}
    [sms] = plan_messages(["sms"], request(templates=overrides))
    assert sms.status == FAILED and "unsafe" in sms.error.lower()


def test_html_email_escapes_customer_data():
    evil = request(recipient=Recipient("<script>x</script>", "e@example.com"))
    [email] = plan_messages(["email"], evil)
    assert "<script>" not in email.body and "&lt;script&gt;" in email.body


def test_staff_note_is_included_and_staff_sends_are_critical():
    [sms] = plan_messages(["sms"], request(status="delivered", note="Left at the back door.", urgent=True))
    assert sms.body.endswith("Left at the back door.") and sms.priority == "critical"
    [sms] = plan_messages(["sms"], request(status="delivered"))
    assert sms.priority == "transactional"


def test_a_template_failing_unexpectedly_fails_its_own_message_only():
    overrides = {("order.cancelled", "email", "en"): {"subject": "S", "body": "{{ 1 | money(5) }}"}}
    email, sms = plan_messages(["email", "sms"], replace(request(), templates=overrides))
    assert email.status == "failed" and email.error.startswith("template error")
    assert sms.status == "pending"


def test_a_name_of_only_spaces_is_no_name():
    [email] = plan_messages(["email"], request(recipient=Recipient(" ", "b@example.com", None, "en")))
    assert email.status == "pending" and ">Hello,</p>" in email.body


def marketing(**changes) -> PlanRequest:
    links = {"one_click": "https://hub.example/unsubscribe/t", "mailto": "mailto:unsubscribe@hub.example?subject=t",
             "preferences": "https://hub.example/preferences/p"}
    return request(message_type="review.request", data={"review": {"url": "https://shop.example/r"}},
                   unsubscribe=links, **changes)


def test_marketing_needs_an_opt_in_on_the_channel_it_goes_by():
    [email] = plan_messages(["email"], marketing())
    assert (email.status, email.error, email.priority) == (SUPPRESSED, "not opted in to email marketing", "marketing")
    sms_only = replace(BOB, consent={"sms": "opted_in"})
    [email] = plan_messages(["email"], marketing(recipient=sms_only))
    assert email.status == SUPPRESSED


def test_opted_in_marketing_email_carries_rfc_8058_headers_and_the_preference_link():
    [email] = plan_messages(["email"], marketing(recipient=replace(BOB, consent={"email": "opted_in"})))
    assert email.status == PENDING
    assert email.headers == {"List-Unsubscribe": "<https://hub.example/unsubscribe/t>, "
                                                 "<mailto:unsubscribe@hub.example?subject=t>",
                             "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert "https://hub.example/preferences/p" in email.body


def test_transactional_email_carries_no_unsubscribe_headers():
    [email] = plan_messages(["email"], request(status="delivered"))
    assert email.headers is None and email.priority == "transactional"


def test_priority_comes_from_the_message_type():
    [reset] = plan_messages(["email"], request(message_type="account.password_reset",
                                               data={"reset": {"url": "https://shop.example/reset"}}))
    assert reset.priority == "critical" and reset.message_type == "account.password_reset"
    [paid] = plan_messages(["email"], request(message_type="payment.confirmed"))
    assert paid.priority == "transactional"


def test_first_reachable_skips_a_channel_without_an_address_or_that_is_suppressed():
    from webapp.notifications.planner import plan_routed
    from webapp.notifications.routing import Route

    route = Route("first", ("push", "sms", "email"))
    [sms] = plan_routed(route, request(message_type="shipping.out_for_delivery"))
    assert sms.channel == "sms" and sms.status == PENDING
    stopped = request(message_type="shipping.out_for_delivery", suppressions={("sms", BOB.phone): "opted out (STOP)"})
    [email] = plan_routed(route, stopped)
    assert email.channel == "email" and email.status == PENDING
    nobody = request(message_type="shipping.out_for_delivery", recipient=Recipient("Nobody"))
    assert [(m.channel, m.status) for m in plan_routed(route, nobody)] == [
        ("push", SKIPPED), ("sms", SKIPPED), ("email", SKIPPED)]
