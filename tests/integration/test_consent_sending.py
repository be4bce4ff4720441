"""Consent decides who gets what: marketing only to customers opted in on that channel, order and
account messages regardless, nothing at all to a suppressed address; the shopper's own links
(one-click unsubscribe, the preference centre) work without login and only once."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from tests.factories import make_customer
from tests.fakes.providers import TWILIO_SID, TWILIO_TOKEN
from tests.integration.test_inbound_sms import inbound
from tests.integration.test_providers_twilio_sendgrid import twilio  # noqa: F401
from tests.pipeline import notifications, run_worker, sandbox_messages
from webapp.channels.accounts import configure_provider
from webapp.consent import links
from webapp.consent.models import ConsentEvent
from webapp.consent.state import consents_of, set_consent
from webapp.dispatch.models import Notification
from webapp.extensions import db
from webapp.notifications.send import send_message
from webapp.timeutil import utcnow

REVIEW = {"review": {"url": "https://shop.example.com/review/1"}}


def path_of(url: str) -> str:
    """The path of an absolute link, for the test client."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def review_request(store, customer, key="r1"):
    return send_message(store, customer, "review.request", key=key, reason="test", data=REVIEW)


def opted_in(store, **fields):
    customer = make_customer(store, **fields)
    set_consent(customer, "email", "opted_in", "checkout")
    db.session.commit()
    return customer


def test_marketing_to_a_never_asked_or_opted_out_customer_is_suppressed_with_its_reason(store):
    never_asked = make_customer(store)
    opted_out = make_customer(store)
    set_consent(opted_out, "email", "opted_out", "staff")
    db.session.commit()
    [first] = review_request(store, never_asked)
    [second] = review_request(store, opted_out)
    assert (first.status, first.error) == ("suppressed", "not opted in to email marketing")
    assert (second.status, second.error) == ("suppressed", "opted out of email marketing")


def test_a_transactional_message_to_the_same_customer_is_sent(store):
    customer = make_customer(store)
    set_consent(customer, "email", "opted_out", "staff")
    db.session.commit()
    [row] = send_message(store, customer, "payment.confirmed", key="p1", reason="test",
                         data={"payment": {"amount": "10.00"}})
    run_worker()
    db.session.refresh(row)
    assert row.status == "sent" and row.priority == "transactional"
    assert [m.recipient for m in sandbox_messages(store.id)] == [customer.email]


def test_marketing_to_an_opted_in_customer_carries_one_click_unsubscribe_headers(store, client):
    customer = opted_in(store)
    [row] = review_request(store, customer)
    assert row.status == "pending" and row.priority == "marketing"
    assert row.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", row.headers["List-Unsubscribe"])
    assert https.startswith("http") and "/unsubscribe/" in https and mailto.startswith("mailto:")
    assert "/preferences/" in row.body  # the visible footer link opens the preference centre


def test_a_one_click_post_to_the_list_unsubscribe_url_opts_the_customer_out(store, client):
    customer = opted_in(store)
    [row] = review_request(store, customer)
    https = re.findall(r"<([^>]+)>", row.headers["List-Unsubscribe"])[0]
    path = path_of(https)
    # Exactly what Gmail sends (RFC 8058): no cookie, no CSRF token, this body.
    response = client.post(path, data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert consents_of(customer.id) == {"email": "opted_out"}
    event = db.session.scalars(select(ConsentEvent).where(ConsentEvent.customer_id == customer.id)
                               .order_by(ConsentEvent.id.desc())).first()
    assert (event.action, event.source, event.actor) == ("opt_out", "unsubscribe_link", "customer")
    [later] = review_request(store, customer, key="r2")
    assert (later.status, later.error) == ("suppressed", "opted out of email marketing")


def test_the_unsubscribe_link_works_without_login_and_a_second_click_changes_nothing(store, client):
    customer = opted_in(store)
    url = path_of(links.unsubscribe_links(store.id, customer.id)["one_click"])
    page = client.get(url)
    assert page.status_code == 200 and b"Unsubscribe from email marketing?" in page.data
    assert consents_of(customer.id) == {"email": "opted_in"}  # a GET (a link scanner) changes nothing
    history = select(func.count()).select_from(ConsentEvent).where(ConsentEvent.customer_id == customer.id)
    before = db.session.scalar(history)
    for _ in range(2):
        assert b"You are unsubscribed" in client.post(url).data
    assert consents_of(customer.id) == {"email": "opted_out"}
    assert db.session.scalar(history) == before + 1


def test_a_tampered_or_foreign_link_is_refused(store, client):
    customer = opted_in(store)
    token = links.token(store.id, customer.id, "email")
    assert client.post(f"/unsubscribe/{token[:-2]}xx").status_code == 404
    assert client.post(f"/unsubscribe/{links.token(store.id + 999, customer.id, 'email')}").status_code == 404
    assert consents_of(customer.id) == {"email": "opted_in"}


def test_the_preference_centre_opts_in_with_evidence_and_mutes_topics(store, client, app):
    customer = make_customer(store)
    url = path_of(links.unsubscribe_links(store.id, customer.id)["preferences"])
    page = client.get(url)
    assert page.status_code == 200 and b"What would you like to hear about?" in page.data
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)[1].decode()
    form = {"csrf_token": token, "action": "save", "channel": ["email"], "topic": ["news"]}
    for _ in range(2):
        assert client.post(url, data=form, headers={"User-Agent": "Firefox/140"}).status_code == 200
    db.session.refresh(customer)
    assert consents_of(customer.id) == {"email": "opted_in"}
    assert customer.muted_topics == ["cart", "reviews"]
    [event] = db.session.scalars(select(ConsentEvent).where(ConsentEvent.customer_id == customer.id))
    assert (event.source, event.user_agent, event.ip) == ("preference_centre", "Firefox/140", "127.0.0.1")
    [review] = review_request(store, customer)
    assert review.error == "turned off “Review requests” in the preference centre"


def test_after_stop_not_even_a_transactional_sms_is_sent(store, client, twilio):  # noqa: F811
    customer = make_customer(store, phone="+15556251199")
    set_consent(customer, "sms", "opted_in", "checkout")
    db.session.commit()
    configure_provider(store.id, "sms", "twilio", {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                                                   "from_number": "+14155550000"}, base_url=twilio.url)
    assert inbound(client, store, "STOP", "SM-stop-1").status_code == 200
    assert consents_of(customer.id) == {"sms": "opted_out"}
    rows = send_message(store, customer, "payment.failed", key="pf1", reason="test",
                        data={"payment": {"amount": "10.00"}})
    run_worker()
    by_channel = {row.channel: row for row in notifications(store.id)}
    assert set(by_channel) == {"email", "sms"} and len(rows) == 2
    assert by_channel["sms"].status == "suppressed"
    assert by_channel["sms"].error.startswith("suppressed: opted out (STOP) 20")
    assert by_channel["email"].status == "sent"
    assert not [m for m in twilio.messages if m.get("To") == customer.phone]


def test_the_frequency_cap_holds_marketing_back_and_says_why(store):
    store.marketing_cap_week = 1
    db.session.commit()
    customer = opted_in(store)
    earlier = review_request(store, customer, key="first")[0]
    earlier.status, earlier.sent_at = "sent", utcnow() - timedelta(days=2)
    db.session.commit()
    [row] = review_request(store, customer, key="second")
    run_worker()
    db.session.refresh(row)
    assert (row.status, row.error) == ("suppressed", "frequency cap: 1 this week")
    assert sandbox_messages(store.id) == []


def test_quiet_hours_hold_marketing_but_not_a_password_reset(store):
    now = utcnow()
    store.timezone = "UTC"
    store.quiet_hours_start = (now - timedelta(hours=1)).strftime("%H:%M")
    store.quiet_hours_end = (now + timedelta(hours=2)).strftime("%H:%M")
    db.session.commit()
    customer = opted_in(store)
    [marketing] = review_request(store, customer)
    [reset] = send_message(store, customer, "account.password_reset", key="pw", reason="test",
                           data={"reset": {"url": "https://shop.example.com/reset/x"}})
    run_worker()
    db.session.refresh(marketing), db.session.refresh(reset)
    assert reset.status == "sent" and reset.priority == "critical"
    assert marketing.status == "pending" and marketing.error.startswith("held: quiet hours until ")
    assert marketing.next_attempt_at > now + timedelta(hours=1)
    assert [e.kind for e in marketing.events][-2:] == ["held", "queued"]


def test_the_notification_api_shows_the_rendered_message_and_its_headers(store, client):
    from webapp.events.api_keys import create_api_key

    customer = opted_in(store)
    [row] = review_request(store, customer)
    secret = create_api_key(store.id, "test").plaintext
    answer = client.get(f"/api/v1/notifications/{row.id}", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert answer["message"]["subject"] == row.subject and answer["message"]["body"] == row.body
    assert answer["message"]["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [e["kind"] for e in answer["timeline"]][:2] == ["planned", "queued"]
    listed = client.get("/api/v1/notifications", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert listed["notifications"][0]["message"]["headers"] == row.headers
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1


def test_a_stop_that_arrives_while_the_sms_waits_in_the_queue_still_stops_it(store):
    from webapp.consent.suppression import suppress

    customer = make_customer(store, phone="+15556251199")
    rows = send_message(store, customer, "payment.failed", key="pf2", reason="test",
                        data={"payment": {"amount": "10.00"}})
    assert {row.status for row in rows} == {"pending"}  # planned before the STOP
    suppress(store.id, "sms", customer.phone, "opt_out", "opted out (STOP)", "twilio inbound SMS")
    db.session.commit()
    run_worker()
    by_channel = {row.channel: row for row in notifications(store.id)}
    assert by_channel["sms"].status == "suppressed"
    assert by_channel["sms"].error.startswith("suppressed: opted out (STOP) 20")
    assert by_channel["sms"].events[-1].detail.startswith("at send time: suppressed")
    assert by_channel["email"].status == "sent"
    assert [m.channel for m in sandbox_messages(store.id)] == ["email"]


def test_an_unsubscribe_while_marketing_waits_stops_it_at_send_time(store, client):
    customer = opted_in(store)
    [row] = review_request(store, customer)
    client.post(path_of(links.unsubscribe_links(store.id, customer.id)["one_click"]))
    run_worker()
    db.session.refresh(row)
    assert (row.status, row.error) == ("suppressed", "opted out of email marketing")
    assert sandbox_messages(store.id) == []


def test_unsubscribe_from_all_marketing_includes_push(store, client):
    from webapp.customers.models import CustomerDevice

    customer = make_customer(store)
    db.session.add(CustomerDevice(store_id=store.id, customer_id=customer.id, platform="fcm", token="tok-1"))
    for channel in ("email", "push"):
        set_consent(customer, channel, "opted_in", "checkout")
    db.session.commit()
    url = path_of(links.unsubscribe_links(store.id, customer.id)["preferences"])
    page = client.get(url)
    assert b'value="push"' in page.data
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)[1].decode()
    client.post(url, data={"csrf_token": token, "action": "unsubscribe_all"})
    assert consents_of(customer.id) == dict.fromkeys(("email", "push", "sms", "whatsapp"), "opted_out")


def test_the_preference_link_cannot_opt_a_phone_in_but_can_opt_it_out(store, client):
    """The link proves the mailbox, not the phone: a forwarded link must not sign someone up for texts."""
    customer = make_customer(store)
    url = path_of(links.unsubscribe_links(store.id, customer.id)["preferences"])
    page = client.get(url)
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)[1].decode()
    assert re.search(rb'value="sms"[^>]*disabled', page.data)
    client.post(url, data={"csrf_token": token, "action": "save", "channel": ["email", "sms"]})
    assert consents_of(customer.id) == {"email": "opted_in"}
    set_consent(customer, "sms", "opted_in", "sms_keyword")
    db.session.commit()
    client.post(url, data={"csrf_token": token, "action": "save", "channel": ["email"]})
    assert consents_of(customer.id) == {"email": "opted_in", "sms": "opted_out"}
