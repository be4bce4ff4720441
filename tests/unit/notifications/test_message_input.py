"""What POST /api/v1/messages accepts, checked before anything is looked up or written."""
import pytest

from webapp.notifications.message_input import MessageInputError, parse_message, resolve_type
from webapp.notifications.send_limits import SendLimits, parse_limits

RESET = {"type": "password_reset", "customer": {"email": "Ana@Example.com"},
         "data": {"reset_url": "https://shop.example.com/reset/abc"}, "idempotency_key": "reset-1"}


def test_short_name_and_flat_variables_become_the_catalog_type_and_its_nested_data():
    asked = parse_message(RESET)
    assert asked.message_type == "account.password_reset"
    assert asked.data == {"reset": {"url": "https://shop.example.com/reset/abc"}}
    assert (asked.customer.email, asked.idempotency_key) == ("ana@example.com", "reset-1")


def test_nested_variables_and_the_header_key_work_too():
    body = {**RESET, "data": {"reset": {"url": "https://x.example/r", "expires_minutes": 15}}}
    del body["idempotency_key"]
    asked = parse_message(body, header_key="hdr-7")
    assert asked.data == {"reset": {"url": "https://x.example/r", "expires_minutes": 15}}
    assert asked.idempotency_key == "hdr-7"


@pytest.mark.parametrize(("name", "key"), [("gdpr_export_ready", "gdpr.export_ready"),
                                           ("payment_failed", "payment.failed"),
                                           ("account.password_reset", "account.password_reset"),
                                           ("out_for_delivery", "shipping.out_for_delivery")])
def test_aliases_and_catalog_keys_are_both_accepted(name, key):
    assert resolve_type(name) == key


@pytest.mark.parametrize(("changes", "field", "status"), [
    ({"type": "order.ready"}, "type", 422),
    ({"type": "invoice.closed"}, "type", 422),
    ({"type": "newsletter"}, "type", 400),
    ({"type": None}, "type", 400),
    ({"customer": None}, "customer", 400),
    ({"customer": {"name": "Ana"}}, "customer", 422),
    ({"customer": {"email": "not-an-address"}}, "customer.email", 400),
    ({"customer": {"phone": "12"}}, "customer.phone", 400),
    ({"customer": {"id": "7"}}, "customer.id", 400),
    ({"data": {"reset_link": "https://x"}}, "data.reset_link", 400),
    ({"data": {"reset_url": {"deep": 1}}}, "data.reset_url.deep", 400),
    ({"data": {"reset_url": ["a"]}}, "data.reset_url", 400),
    ({"data": {}}, "data.reset_url", 422),
    ({"data": {"customer_name": "Eve"}}, "data.customer_name", 400),
    ({"idempotency_key": ""}, "idempotency_key", 400),
    ({"idempotency_key": "k" * 201}, "idempotency_key", 400),
])
def test_bad_requests_name_the_field(changes, field, status):
    with pytest.raises(MessageInputError) as caught:
        parse_message({**RESET, **changes})
    assert (caught.value.field, caught.value.status) == (field, status)


def test_an_order_type_is_refused_pointing_at_events():
    with pytest.raises(MessageInputError, match="POST /api/v1/events"):
        resolve_type("order.cancelled")


def test_payment_failed_takes_its_order_and_payment_variables():
    asked = parse_message({"type": "payment_failed", "customer": {"phone": "+14155550100"}, "idempotency_key": "p",
                           "data": {"order_number": "#7", "payment": {"amount": "12.50", "reason": "Declined"}}})
    assert asked.data == {"order": {"number": "#7"}, "payment": {"amount": "12.50", "reason": "Declined"}}
    assert asked.customer.phone == "+14155550100"


def test_send_limits_both_or_neither_and_positive_caps():
    assert parse_limits("21:00", "08:00", "", "5") == SendLimits("21:00", "08:00", None, 5)
    assert parse_limits("", "", "", "") == SendLimits()
    assert parse_limits("9:30", "07:00", "1", "") == SendLimits("09:30", "07:00", 1, None)
    for args, problem in [(("21:00", "", "", ""), "both a start and an end"),
                          (("25:00", "08:00", "", ""), "HH:MM"),
                          (("08:00", "08:00", "", ""), "same time"),
                          (("", "", "0", ""), "from 1 to"),
                          (("", "", "two", ""), "whole number"),
                          (("", "", "5", "3"), "above the weekly cap")]:
        with pytest.raises(ValueError, match=problem):
            parse_limits(*args)
