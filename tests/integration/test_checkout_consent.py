"""Marketing consent from Shopify's checkout (the real order fixture with its consent fields) lands
in the customer's consent and history; only explicit choices count, and never over a newer one.
The customer's id at the source and their country are kept too."""
from sqlalchemy import select

from tests.pipeline import connect_sources, post_shopify, post_woocommerce, shopify_order
from tests.pipeline import fixture as load_fixture
from webapp.consent.models import ConsentEvent
from webapp.consent.state import consents_of, set_consent
from webapp.customers.models import Customer
from webapp.extensions import db


def bob() -> Customer:
    db.session.expire_all()
    return db.session.scalar(select(Customer).where(Customer.email == "bob.norman@hostmail.com"))


def order_with(email_state=None, sms_state=None, at="2024-05-01T10:00:00Z", **changes) -> dict:
    order = shopify_order(**changes)
    if email_state:
        order["customer"]["email_marketing_consent"] = {"state": email_state, "opt_in_level": "single_opt_in",
                                                         "consent_updated_at": at}
    if sms_state:
        order["customer"]["sms_marketing_consent"] = {"state": sms_state, "opt_in_level": "single_opt_in",
                                                       "consent_updated_at": at}
    order["client_details"].update(browser_ip="203.0.113.9", user_agent="Mozilla/5.0 (checkout)")
    return order


def test_subscribed_at_checkout_opts_in_with_evidence_and_history(client, store):
    connect_sources(store)
    assert post_shopify(client, store, "orders/create", order_with("subscribed", "subscribed"), "wh-1"
                        ).status_code == 200
    customer = bob()
    assert consents_of(customer.id) == {"email": "opted_in", "sms": "opted_in"}
    events = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.channel)).all()
    assert [(e.channel, e.action, e.source, e.actor) for e in events] == [
        ("email", "opt_in", "checkout", "shopify"), ("sms", "opt_in", "checkout", "shopify")]
    assert (events[0].ip, events[0].user_agent) == ("203.0.113.9", "Mozilla/5.0 (checkout)")
    assert events[0].detail == "Shopify email_marketing_consent: subscribed (single_opt_in)"
    assert events[1].address == "+15556251199"
    # The same order told again records nothing more.
    post_shopify(client, store, "orders/updated", order_with("subscribed", "subscribed"), "wh-2")
    assert db.session.query(ConsentEvent).count() == 2


def test_the_plain_fixture_and_not_subscribed_leave_consent_as_it_is(client, store):
    connect_sources(store)
    post_shopify(client, store, "orders/create", shopify_order(), "wh-1")  # accepts_marketing false: no choice
    assert consents_of(bob().id) == {}
    set_consent(bob(), "email", "opted_in", "staff", actor="owner@example.test")
    db.session.commit()
    post_shopify(client, store, "orders/updated", order_with("not_subscribed", "pending"), "wh-2")
    assert consents_of(bob().id) == {"email": "opted_in"}


def test_an_older_checkout_choice_never_overrides_a_later_unsubscribe(client, store):
    connect_sources(store)
    post_shopify(client, store, "orders/create", order_with("subscribed"), "wh-1")
    set_consent(bob(), "email", "opted_out", "unsubscribe_link", actor="customer")
    db.session.commit()
    # Every later webhook of the order still says "subscribed" as of the checkout.
    post_shopify(client, store, "orders/updated", order_with("subscribed"), "wh-2")
    assert consents_of(bob().id) == {"email": "opted_out"}
    # A newer choice made at Shopify does apply.
    post_shopify(client, store, "orders/updated", order_with("subscribed", at="2099-01-01T00:00:00Z"), "wh-3")
    assert consents_of(bob().id) == {"email": "opted_in"}
    post_shopify(client, store, "orders/updated", order_with("unsubscribed", at="2099-02-01T00:00:00Z"), "wh-4")
    assert consents_of(bob().id) == {"email": "opted_out"}


def test_legacy_buyer_accepts_marketing_true_opts_in_email_only(client, store):
    connect_sources(store)
    post_shopify(client, store, "orders/create", shopify_order(buyer_accepts_marketing=True), "wh-1")
    assert consents_of(bob().id) == {"email": "opted_in"}


def test_the_customers_source_id_and_country_are_recorded(client, store):
    connect_sources(store)
    post_shopify(client, store, "orders/create", shopify_order(), "wh-1")
    customer = bob()
    assert customer.external_ids == {"shopify": "207119551"} and customer.country == "US"
    woo = load_fixture("woocommerce/order-processing.json")
    woo.update(customer_id=42, date_modified_gmt="2024-03-01T10:00:00")
    woo["billing"]["email"] = "bob.norman@hostmail.com"
    post_woocommerce(client, store, "order.created", woo)
    assert bob().external_ids == {"shopify": "207119551", "woocommerce": "42"}
    assert consents_of(bob().id) == {}  # WooCommerce carries no marketing consent
