"""Inbound texts to the store's Twilio number: STOP, START and HELP, verified like Twilio signs them."""
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from tests.fakes.providers import TWILIO_TOKEN
from tests.integration.test_providers_twilio_sendgrid import sendgrid, twilio, use_real_providers  # noqa: F401
from tests.pipeline import connect_sources, notifications, post_shopify, run_worker, set_rule, shopify_order
from webapp.channels.accounts import configure_provider
from webapp.channels.models import ProviderConfig
from webapp.consent.models import ChannelSuppression, ConsentEvent, ProcessedCallback
from webapp.extensions import db

PHONE = "+15556251199"
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def inbound(client, store, body: str, sid: str, from_: str = PHONE, token: str = TWILIO_TOKEN):
    url = f"http://localhost/callbacks/twilio/{store.slug}/inbound"
    params = {"MessageSid": sid, "AccountSid": "AC1", "From": from_, "To": "+14155550000", "Body": body}
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(url, data=params, headers={"X-Twilio-Signature": signature})


def email_via_sandbox(store):
    """Email through the sandbox: these tests are about SMS consent, not SendGrid's transport."""
    from webapp.channels.accounts import remove_provider

    for row in db.session.scalars(select(ProviderConfig).where(ProviderConfig.store_id == store.id,
                                                               ProviderConfig.channel == "email")):
        remove_provider(store.id, row.id)
    configure_provider(store.id, "email", "sandbox", {})


def suppressions(store_id):
    db.session.expire_all()
    return {(s.channel, s.address): s.reason for s in db.session.scalars(
        select(ChannelSuppression).where(ChannelSuppression.store_id == store_id))}


def consent_events(store_id):
    return [(e.action, e.channel, e.address, e.customer_id) for e in db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.store_id == store_id).order_by(ConsentEvent.id))]


def test_stop_suppresses_sms_until_start_while_email_continues(client, store, twilio, sendgrid):  # noqa: F811
    connect_sources(store)
    for status in ("sent_for_processing", "processing", "ready"):
        set_rule(store, "shopify", status)
    use_real_providers(store, twilio, sendgrid)
    email_via_sandbox(store)
    post_shopify(client, store, "orders/paid", shopify_order(updated_at="2024-05-01T10:00:00Z"), "wh-1")
    run_worker()
    assert [n.status for n in notifications(store.id)] == ["sent", "sent"]

    response = inbound(client, store, "Stop", "SM-in-1")
    assert response.status_code == 200 and response.content_type.startswith("text/xml")
    assert response.get_data(as_text=True) == EMPTY  # Twilio sends its own STOP confirmation
    assert suppressions(store.id) == {("sms", PHONE): "opted out (STOP)"}
    customer_id = notifications(store.id)[0].customer_id
    assert consent_events(store.id) == [("opt_out", "sms", PHONE, customer_id)]

    post_shopify(client, store, "orders/partially_fulfilled", shopify_order(updated_at="2024-05-02T10:00:00Z"), "wh-2")
    run_worker()
    email, sms = notifications(store.id)[2:]
    assert (email.channel, email.status) == ("email", "sent")
    assert (sms.channel, sms.status) == ("sms", "suppressed")
    assert len(twilio.messages) == 1

    assert inbound(client, store, "START", "SM-in-2").get_data(as_text=True) == EMPTY
    assert suppressions(store.id) == {}
    post_shopify(client, store, "orders/fulfilled", shopify_order(updated_at="2024-05-03T10:00:00Z"), "wh-3")
    run_worker()
    assert [n.status for n in notifications(store.id)[4:]] == ["sent", "sent"]
    assert len(twilio.messages) == 2
    assert [e[0] for e in consent_events(store.id)] == ["opt_out", "opt_in"]


def test_help_answers_with_the_store_text_and_replays_record_nothing(client, store, twilio, sendgrid):  # noqa: F811
    use_real_providers(store, twilio, sendgrid)
    response = inbound(client, store, "help", "SM-h1")
    assert response.get_data(as_text=True) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Acme Goods: order updates by text. '
        "Reply STOP to unsubscribe, START to resubscribe.</Message></Response>")
    store.sms_help_text = "Acme & Co <help@acme.test>"
    db.session.commit()
    answer = inbound(client, store, "INFO", "SM-h2").get_data(as_text=True)
    assert "<Message>Acme &amp; Co &lt;help@acme.test&gt;</Message>" in answer
    replay = inbound(client, store, "INFO", "SM-h2")
    assert "<Message>" in replay.get_data(as_text=True)
    assert [e[0] for e in consent_events(store.id)] == ["help", "help"]
    assert inbound(client, store, "Where is my parcel?", "SM-h3").get_data(as_text=True) == EMPTY
    assert len(consent_events(store.id)) == 2 and suppressions(store.id) == {}


def test_whatsapp_stop_and_replays(client, store, twilio, sendgrid):  # noqa: F811
    use_real_providers(store, twilio, sendgrid)
    assert inbound(client, store, "STOP", "SM-w1", from_=f"whatsapp:{PHONE}").status_code == 200
    assert inbound(client, store, "STOP", "SM-w1", from_=f"whatsapp:{PHONE}").status_code == 200
    assert suppressions(store.id) == {("whatsapp", PHONE): "opted out (STOP)"}
    assert consent_events(store.id) == [("opt_out", "whatsapp", PHONE, None)]


def test_start_never_lifts_a_bounce_or_complaint(client, store, twilio, sendgrid):  # noqa: F811
    use_real_providers(store, twilio, sendgrid)
    db.session.add(ChannelSuppression(store_id=store.id, channel="sms", address=PHONE, reason="complained"))
    db.session.commit()
    inbound(client, store, "STOP", "SM-c1")
    inbound(client, store, "START", "SM-c2")
    assert suppressions(store.id) == {("sms", PHONE): "complained"}
    assert [e[0] for e in consent_events(store.id)] == ["opt_out", "opt_in"]


def test_unsigned_inbound_writes_nothing(client, store, twilio, sendgrid):  # noqa: F811
    use_real_providers(store, twilio, sendgrid)
    assert inbound(client, store, "STOP", "SM-x1", token="wrong").status_code == 401
    url = f"/callbacks/twilio/{store.slug}/inbound"
    assert client.post(url, data={"From": PHONE, "Body": "STOP", "MessageSid": "SM-x2"}).status_code == 401
    assert client.post("/callbacks/twilio/no-such-store/inbound").status_code == 404
    assert suppressions(store.id) == {} and consent_events(store.id) == []
    assert db.session.scalar(select(ProcessedCallback.id)) is None


def test_a_keyword_twilio_lets_through_gets_our_own_confirmation(client, store, twilio, sendgrid):  # noqa: F811
    use_real_providers(store, twilio, sendgrid)
    answer = inbound(client, store, "Stop please, too many texts", "SM-p1").get_data(as_text=True)
    assert "<Message>Acme Goods: you are unsubscribed" in answer
    assert suppressions(store.id) == {("sms", PHONE): "opted out (STOP)"}
    answer = inbound(client, store, "yes please", "SM-p2").get_data(as_text=True)
    assert "<Message>Acme Goods: you are subscribed again" in answer
    assert suppressions(store.id) == {}
    assert [e[0] for e in consent_events(store.id)] == ["opt_out", "opt_in"]


def test_advanced_opt_out_type_is_trusted_and_twilio_answers_it(client, store, twilio, sendgrid):  # noqa: F811
    use_real_providers(store, twilio, sendgrid)

    def post(body, sid, opt_out_type):
        url = f"http://localhost/callbacks/twilio/{store.slug}/inbound"
        params = {"MessageSid": sid, "AccountSid": "AC1", "From": PHONE, "To": "+14155550000", "Body": body,
                  "OptOutType": opt_out_type}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
        return client.post(url, data=params, headers={"X-Twilio-Signature": signature}).get_data(as_text=True)

    assert post("ARRET", "SM-a1", "STOP") == EMPTY  # a merchant-defined keyword Twilio matched and confirmed
    assert suppressions(store.id) == {("sms", PHONE): "opted out (STOP)"}
    assert post("AIDE", "SM-a2", "HELP") == EMPTY  # Twilio sends the help text configured there
    assert [e[0] for e in consent_events(store.id)] == ["opt_out", "help"]
