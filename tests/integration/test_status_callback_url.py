"""Twilio is told where to send delivery receipts: the store's own callback URL on this app,
derived from PUBLIC_BASE_URL unless the merchant set one."""
from tests.fakes.providers import TWILIO_SID, TWILIO_TOKEN, FakeTwilio
from tests.pipeline import connect_sources, notifications, post_shopify, run_worker, set_rule, shopify_order
from tests.runtime import reconfigure
from webapp.channels.accounts import configure_provider


def test_the_status_callback_url_defaults_to_this_apps_endpoint_for_the_store(app, client, store):
    reconfigure(app, PUBLIC_BASE_URL="https://notify.example.com")
    twilio = FakeTwilio()
    try:
        connect_sources(store)
        set_rule(store, "shopify", "cancelled", ("sms",))
        configure_provider(store.id, "sms", "twilio", {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                                                       "from_number": "+14155550000"}, base_url=twilio.url)
        post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-cb-1")
        run_worker()
        assert [row.status for row in notifications(store.id)] == ["sent"]
        [sent] = twilio.messages
        assert sent["StatusCallback"] == f"https://notify.example.com/callbacks/twilio/{store.slug}/status"
    finally:
        twilio.close()


def test_a_url_the_merchant_set_wins(app, client, store):
    reconfigure(app, PUBLIC_BASE_URL="https://notify.example.com")
    twilio = FakeTwilio()
    try:
        connect_sources(store)
        set_rule(store, "shopify", "cancelled", ("sms",))
        configure_provider(store.id, "sms", "twilio", {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                                                       "from_number": "+14155550000",
                                                       "status_callback_url": "https://edge.example/cb"},
                           base_url=twilio.url)
        post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-cb-2")
        run_worker()
        assert twilio.messages[0]["StatusCallback"] == "https://edge.example/cb"
    finally:
        twilio.close()
