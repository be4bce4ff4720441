"""Twilio and SendGrid through their official SDKs, pointed at local servers by the base URL."""
import pytest

from tests.fakes.http import Reply
from tests.fakes.providers import SENDGRID_KEY, TWILIO_SID, TWILIO_TOKEN, FakeSendGrid, FakeTwilio
from tests.pipeline import connect_sources, notifications, post_shopify, run_worker, set_rule, shopify_order
from webapp.channels.accounts import ProviderSettingsError, configure_provider
from webapp.channels.providers.registry import providers


@pytest.fixture
def twilio():
    fake = FakeTwilio()
    yield fake
    fake.close()


@pytest.fixture
def sendgrid():
    fake = FakeSendGrid()
    yield fake
    fake.close()


def use_real_providers(store, twilio, sendgrid, **twilio_settings):
    configure_provider(store.id, "sms", "twilio", {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                                                   "from_number": "+14155550000",
                                                   "status_callback_url": "https://hub.example/callbacks/twilio/status",
                                                   **twilio_settings}, base_url=twilio.url)
    configure_provider(store.id, "email", "sendgrid", {"api_key": SENDGRID_KEY, "from_email": "orders@acme.test",
                                                       "from_name": "Acme Goods"}, base_url=sendgrid.url)


def test_pipeline_messages_reach_twilio_and_sendgrid_through_their_sdks(client, store, twilio, sendgrid):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    use_real_providers(store, twilio, sendgrid)
    assert post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-p1").status_code == 200
    run_worker()

    [sms] = twilio.messages
    assert sms["To"] == "+15556251199" and sms["From"] == "+14155550000"
    assert sms["Body"] == "Acme Goods: Your order #1001 was cancelled."
    assert sms["StatusCallback"] == "https://hub.example/callbacks/twilio/status"
    [mail] = sendgrid.mails
    assert mail["personalizations"][0]["to"] == [{"email": "bob.norman@hostmail.com"}]
    assert mail["from"] == {"email": "orders@acme.test", "name": "Acme Goods"}
    assert mail["subject"] == "Order #1001 was cancelled"
    plain, html = mail["content"]  # the plain-text part first, as SendGrid requires
    assert plain["type"] == "text/plain" and "#1001" in plain["value"] and "<" not in plain["value"]
    assert html["type"] == "text/html" and "#1001" in html["value"]
    email_row, sms_row = notifications(store.id)
    assert (email_row.status, email_row.provider, email_row.provider_message_id) == ("sent", "sendgrid", "sg-1")
    assert (sms_row.status, sms_row.provider, sms_row.provider_message_id) == ("sent", "twilio", sms["sid"])
    assert mail["custom_args"] == {"notification_id": str(email_row.id)}


def test_twilio_messaging_service_sid_is_used_when_set(client, store, twilio, sendgrid):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("sms",))
    use_real_providers(store, twilio, sendgrid, messaging_service_sid="MG00000000000000000000000000000001")
    post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-p2")
    run_worker()
    assert twilio.messages[0]["MessagingServiceSid"] == "MG00000000000000000000000000000001"


def test_invalid_recipient_fails_at_once_with_the_providers_reason(client, store, twilio, sendgrid):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("sms",))
    use_real_providers(store, twilio, sendgrid)
    twilio.fail_with = Reply(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                   "status": 400})
    post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-p3")
    run_worker()
    [row] = notifications(store.id)
    assert row.status == "failed" and "21211" in row.error and row.attempts == 1


def test_server_errors_are_retried_then_fail_over_to_the_next_provider(client, store, twilio, sendgrid):
    from tests.fakes.http import FakeServer

    backup = FakeServer(lambda request: Reply(200, {"id": "backup-1"}))
    try:
        connect_sources(store)
        set_rule(store, "shopify", "cancelled", ("email",))
        use_real_providers(store, twilio, sendgrid)
        configure_provider(store.id, "email", "webhook", {"signing_secret": "s" * 20}, base_url=backup.url)
        sendgrid.fail_with = Reply(503, {"errors": [{"message": "Service Unavailable"}]})
        post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-p4")
        run_worker()
        [row] = notifications(store.id)
        assert (row.status, row.provider, row.provider_message_id) == ("sent", "webhook", "backup-1")
        # Four tries at SendGrid (the fourth job fails over at once), then the backup carries it.
        assert [e.provider for e in row.events if e.kind == "attempt"] == ["sendgrid"] * 4
        assert row.events[-1].kind == "sent" and row.events[-1].provider == "webhook"
        assert len(backup.requests) == 1
    finally:
        backup.close()


def test_bad_credentials_move_straight_to_the_next_provider(client, store, twilio, sendgrid):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("sms",))
    configure_provider(store.id, "sms", "twilio", {"account_sid": TWILIO_SID, "auth_token": "wrong-token",
                                                   "from_number": "+14155550000"}, base_url=twilio.url)
    configure_provider(store.id, "sms", "sandbox", {})
    post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-p5")
    run_worker()
    [row] = notifications(store.id)
    assert (row.status, row.provider, row.attempts) == ("sent", "sandbox", 1)
    assert any("401" in e.detail for e in row.events)


def test_provider_settings_are_validated_against_the_declared_fields(app, store):
    assert {"sandbox", "webhook", "twilio", "sendgrid"} <= set(providers())
    with pytest.raises(ProviderSettingsError, match="needs"):
        configure_provider(store.id, "sms", "twilio", {"account_sid": TWILIO_SID})
    with pytest.raises(ProviderSettingsError, match="does not serve"):
        configure_provider(store.id, "sms", "sendgrid", {"api_key": "k", "from_email": "a@b.test"})
    with pytest.raises(ProviderSettingsError, match="no field"):
        configure_provider(store.id, "email", "sendgrid", {"api_key": "k", "from_email": "a@b.test", "x": "1"})
    with pytest.raises(ProviderSettingsError, match="Unknown provider"):
        configure_provider(store.id, "email", "carrier-pigeon", {})


def test_cli_sets_and_lists_providers_without_showing_secrets(app, store):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["providers", "set", store.slug, "email", "sendgrid", "--field",
                                 f"api_key={SENDGRID_KEY}", "--field", "from_email=orders@acme.test",
                                 "--base-url", "https://api.eu.sendgrid.com"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(args=["providers", "list", store.slug]).output
    assert "sendgrid" in listing and "api.eu.sendgrid.com" in listing and "cdef" in listing
    assert SENDGRID_KEY not in listing
    bad = runner.invoke(args=["providers", "set", store.slug, "email", "sendgrid", "--field", "api_key"])
    assert bad.exit_code != 0 and "KEY=VALUE" in bad.output


def twilio_callback(client, store, params: dict, token: str = TWILIO_TOKEN):
    from twilio.request_validator import RequestValidator

    url = f"http://localhost/callbacks/twilio/{store.slug}/status"
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(url, data=params, headers={"X-Twilio-Signature": signature})


def test_twilio_status_callback_marks_the_sms_delivered_once(client, store, twilio, sendgrid):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("sms",))
    use_real_providers(store, twilio, sendgrid)
    post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-p6")
    run_worker()
    sid = twilio.messages[0]["sid"]
    params = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": TWILIO_SID, "To": "+15556251199"}
    assert twilio_callback(client, store, params).get_json() == {"status": "updated"}
    assert twilio_callback(client, store, params).get_json() == {"status": "ignored"}  # a replay changes nothing
    late_sent = {**params, "MessageStatus": "sent"}
    assert twilio_callback(client, store, late_sent).get_json() == {"status": "ignored"}
    [row] = notifications(store.id)
    assert row.status == "delivered" and [e.kind for e in row.events].count("delivered") == 1


def test_unsigned_or_unknown_twilio_callbacks_change_nothing(client, store, twilio, sendgrid):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("sms",))
    use_real_providers(store, twilio, sendgrid)
    post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-p7")
    run_worker()
    sid = twilio.messages[0]["sid"]
    forged = twilio_callback(client, store, {"MessageSid": sid, "MessageStatus": "failed"}, token="not-the-token")
    assert forged.status_code == 401
    unknown = twilio_callback(client, store, {"MessageSid": "SMunknown", "MessageStatus": "delivered"})
    assert unknown.status_code == 200 and unknown.get_json() == {"status": "ignored"}
    assert client.post("/callbacks/twilio/no-such-store/status").status_code == 404
    [row] = notifications(store.id)
    assert row.status == "sent"
