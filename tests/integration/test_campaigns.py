"""Campaigns end to end through the API and real RQ workers: composed, refused with the field at
fault, sent to the frozen segment exactly once per eligible recipient in their language, paused
and resumed without duplicates, resent only to those that failed, counted as the sandbox saw it."""
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from tests.pipeline import run_worker, sandbox_messages
from webapp.campaigns.models import Campaign, CampaignRecipient
from webapp.campaigns.pump import pump
from webapp.channels.circuit import record_failure, record_success
from webapp.consent.state import set_consent
from webapp.consent.suppression import suppress
from webapp.customers.models import Customer
from webapp.dispatch.models import Notification
from webapp.dispatch.queueing import enqueue_ids
from webapp.dispatch.receipts import apply_receipt
from webapp.events.api_keys import create_api_key
from webapp.extensions import db
from webapp.timeutil import utcnow

CONTENT = {"en": {"subject": "Winter sale, {{ customer.first_name or 'friend' }}",
                  "body": "<p>Hello {{ customer.name or 'there' }}, <a href=\"https://shop.example.com/sale\">shop"
                          "</a></p>"},
           "fr": {"subject": "Soldes d'hiver", "body": "<p>Bonjour {{ customer.name }}</p>"}}


@pytest.fixture
def auth(store):
    return {"Authorization": f"Bearer {create_api_key(store.id, 'marketing').plaintext}"}


def customers(store, count=6):
    made = []
    for i in range(count):
        customer = Customer(store_id=store.id, email=f"c{i}@shop.test", name=f"Customer {i}" if i % 2 else "",
                            locale="fr" if i == 1 else "en", tags=["vip"])
        db.session.add(customer)
        db.session.commit()
        set_consent(customer, "email", "opted_out" if i == 5 else "opted_in", "checkout")
        made.append(customer)
    db.session.commit()
    return made


def segment(client, auth):
    answer = client.post("/api/v1/segments", headers=auth, json={
        "name": "VIPs", "match": "all", "conditions": [{"field": "tags", "op": "any_of", "value": ["vip"]}]})
    return answer.get_json()["id"]


def compose(client, auth, segment_id, **extra):
    body = {"name": "Winter", "channel": "email", "segment_id": segment_id, "content": CONTENT, **extra}
    answer = client.post("/api/v1/campaigns", headers=auth, json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def drive(app, campaign_id, seconds=30):
    """Worker passes and pump passes until the campaign is final (delayed pump jobs need a scheduler,
    which a burst worker does not run)."""
    settings = app.extensions["runtime_settings"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run_worker()
        db.session.expire_all()
        if pump(campaign_id, settings) in ("done", "paused", "cancelled"):
            run_worker()
            return
    raise AssertionError("the campaign did not finish")


def test_a_campaign_reaches_each_eligible_recipient_once_in_their_language(app, client, store, auth):
    made = customers(store)
    suppress(store.id, "email", "c4@shop.test", "hard_bounce", "bounced", "test", customer_id=made[4].id)
    db.session.commit()
    campaign_id = compose(client, auth, segment(client, auth), utm={"source": "newsletter", "campaign": "winter"})
    assert client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth).status_code == 202
    drive(app, campaign_id)
    mails = {m.recipient: m for m in sandbox_messages(store.id)}
    assert sorted(mails) == ["c0@shop.test", "c1@shop.test", "c2@shop.test", "c3@shop.test"]
    assert mails["c1@shop.test"].subject == "Soldes d'hiver" and "Bonjour Customer 1" in mails["c1@shop.test"].body
    assert mails["c3@shop.test"].subject == "Winter sale, Customer" and "Hello Customer 3" in mails["c3@shop.test"].body
    assert mails["c0@shop.test"].subject == "Winter sale, friend" and "Hello there" in mails["c0@shop.test"].body
    assert "utm_source=newsletter" in mails["c0@shop.test"].body and "utm_campaign=winter" in mails["c0@shop.test"].body
    status = client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth).get_json()
    assert status["status"] == "done"
    counts = status["counts"]
    assert (counts["total"], counts["excluded"], counts["sent"], counts["percent"]) == (6, 2, 4, 100)
    assert counts["reasons"] == {"not opted in": 1, "suppressed": 1}
    # Each notification carries its substitutions: the shared rendering is batchable.
    row = db.session.scalar(select(Notification).where(Notification.recipient == "c3@shop.test"))
    assert row.substitutions["[[nh:name]]"] == "Customer 3" and row.campaign_id == campaign_id
    assert row.headers["List-Unsubscribe"].startswith("<http")


def test_bad_campaigns_are_refused_naming_the_field_and_nothing_is_queued(app, client, store, auth):
    segment_id = segment(client, auth)
    bad = [({"content": {"en": {"subject": "x", "body": "{{ customer.name"}}}, "content.en.body"),
           ({"channel": "fax"}, "channel"), ({"segment_id": 999}, "segment_id"),
           ({"send_at": "tomorrow"}, "send_at"),
           ({"send_window": {"days": [], "start": "09:00", "end": "18:00"}}, "send_window.days"),
           ({"send_window": {"days": [0], "start": "18:00", "end": "09:00"}}, "send_window.end")]
    for change, field in bad:
        body = {"name": "W", "channel": "email", "segment_id": segment_id, "content": CONTENT, **change}
        answer = client.post("/api/v1/campaigns", headers=auth, json=body)
        assert answer.status_code == 422 and answer.get_json()["field"] == field, (change, answer.get_json())
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    # Launch checks: an empty segment, no content in the store's language, a moment in the past.
    empty = compose(client, auth, segment_id)
    answer = client.post(f"/api/v1/campaigns/{empty}/send", headers=auth)
    assert answer.status_code == 422 and answer.get_json()["field"] == "segment_id"
    customers(store, 2)
    french = compose(client, auth, segment_id, content={"fr": CONTENT["fr"]})
    assert client.post(f"/api/v1/campaigns/{french}/send", headers=auth).get_json()["field"] == "content.en"
    past = compose(client, auth, segment_id, send_at=(utcnow() - timedelta(hours=1)).isoformat())
    assert client.post(f"/api/v1/campaigns/{past}/send", headers=auth).get_json()["field"] == "send_at"
    assert db.session.scalar(select(func.count()).select_from(CampaignRecipient)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_scheduled_campaign_waits_can_be_edited_and_cancelled(app, client, store, auth):
    customers(store, 2)
    segment_id = segment(client, auth)
    later = (utcnow() + timedelta(hours=2)).isoformat()
    campaign_id = compose(client, auth, segment_id, send_at=later)
    assert client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth).get_json()["status"] == "scheduled"
    assert pump(campaign_id, app.extensions["runtime_settings"]) == "scheduled"
    edited = client.put(f"/api/v1/campaigns/{campaign_id}", headers=auth, json={
        "name": "Winter, edited", "channel": "email", "segment_id": segment_id, "content": CONTENT, "send_at": later})
    assert edited.status_code == 200 and edited.get_json()["name"] == "Winter, edited"
    assert edited.get_json()["status"] == "scheduled"
    assert db.session.scalar(select(func.count()).select_from(CampaignRecipient)) == 0  # not frozen before it starts
    # Still scheduled, so an edit must pass the launch checks: no content in the store's language is refused.
    refused = client.put(f"/api/v1/campaigns/{campaign_id}", headers=auth, json={
        "name": "Winter, French only", "channel": "email", "segment_id": segment_id, "content": {"fr": CONTENT["fr"]},
        "send_at": later})
    assert refused.status_code == 422 and refused.get_json()["field"] == "content.en"
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth).get_json()["name"] == "Winter, edited"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=auth).get_json()["status"] == "cancelled"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth).status_code == 409
    run_worker()
    assert sandbox_messages(store.id) == []


def test_pause_takes_back_queued_messages_and_resume_sends_each_once(app, client, store, auth):
    customers(store, 5)
    campaign_id = compose(client, auth, segment(client, auth))
    client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
    settings = app.extensions["runtime_settings"]
    pump(campaign_id, settings)  # queued, not delivered yet
    paused = client.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=auth).get_json()
    assert paused["status"] == "paused" and paused["counts"]["waiting"] == 5
    run_worker()  # the jobs find their rows gone
    assert sandbox_messages(store.id) == []
    assert client.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=auth).get_json()["status"] == "sending"
    drive(app, campaign_id)
    assert sorted(m.recipient for m in sandbox_messages(store.id)) == [f"c{i}@shop.test" for i in range(5)]


def test_another_stores_campaign_is_not_found(client, store, auth):
    assert client.get("/api/v1/campaigns/1", headers=auth).status_code == 404
    assert client.post("/api/v1/campaigns/1/pause", headers=auth).status_code == 404
    assert client.post("/api/v1/campaigns", json={}).status_code == 401


def test_an_ab_test_sends_the_variant_with_more_opens_to_the_rest(app, client, store, auth):
    customers(store, 40)
    campaign_id = compose(client, auth, segment(client, auth), ab_test={
        "field": "subject", "b": {"en": "Last chance: winter sale", "fr": "Dernière chance"},
        "sample_percent": 25, "wait_minutes": 60, "metric": "opens"})
    client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
    settings = app.extensions["runtime_settings"]
    pump(campaign_id, settings)
    run_worker()
    recipients = db.session.scalars(select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign_id)).all()
    assert {r.variant for r in recipients if r.status != "excluded"} == {"A", "B", "W"}
    sampled = [r for r in recipients if r.variant in ("A", "B")]
    assert all(r.status == "queued" for r in sampled) and all(r.status == "waiting" for r in recipients
                                                              if r.variant == "W")
    for r in sampled:  # B's subject gets every open
        if r.variant == "B":
            row = db.session.get(Notification, r.notification_id)
            apply_receipt(store.id, row.provider, row.provider_message_id, "opened")
    db.session.execute(update(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign_id,
                                                       CampaignRecipient.variant == "W")
                       .values(due_at=utcnow() - timedelta(seconds=1)))  # the wait is over
    db.session.commit()
    drive(app, campaign_id)
    assert db.session.get(Campaign, campaign_id).ab_winner == "B"
    rest = {m.recipient: m.subject for m in sandbox_messages(store.id)}
    waited = [r for r in recipients if r.variant == "W"]
    assert waited and all(rest[r.address] in ("Last chance: winter sale", "Dernière chance") for r in waited)
    assert len(rest) == 39  # c5 opted out


def test_campaign_rate_limits_hold_the_rest_for_the_next_window(app, client, store, auth):
    customers(store, 5)
    campaign_id = compose(client, auth, segment(client, auth), rate_limits=[{"per": "minute", "limit": 3}])
    client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
    settings = app.extensions["runtime_settings"]
    assert pump(campaign_id, settings) == "rate-limited"  # 3 queued, the rest wait for the window
    run_worker()
    assert len(sandbox_messages(store.id)) == 3
    status = client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth).get_json()
    assert (status["counts"]["sent"], status["counts"]["waiting"]) == (3, 2)


def test_outside_the_send_window_the_campaign_waits(app, client, store, auth):
    customers(store, 2)
    now = utcnow().astimezone(ZoneInfo(store.timezone or "UTC"))
    closed_day = (now.weekday() + 3) % 7
    campaign_id = compose(client, auth, segment(client, auth),
                          send_window={"days": [closed_day], "start": "09:00", "end": "18:00"})
    client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
    assert pump(campaign_id, app.extensions["runtime_settings"]) == "waiting"
    reason = client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth).get_json()["status_reason"]
    assert reason.startswith("waiting for the send window")
    run_worker()
    assert sandbox_messages(store.id) == []


def test_a_provider_outage_pauses_the_campaign_with_the_reason(app, client, store, auth):
    customers(store, 2)
    campaign_id = compose(client, auth, segment(client, auth))
    client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
    settings = app.extensions["runtime_settings"]
    pump(campaign_id, settings)  # both queued
    for _ in range(settings.circuit_failure_threshold):
        record_failure(store.id, "email", "sandbox", settings)
    assert pump(campaign_id, settings) == "paused"
    status = client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth).get_json()
    assert status["status"] == "paused" and "sandbox failing" in status["status_reason"]
    # The queued messages came back rather than each waiting out the breaker and failing.
    assert (status["counts"]["waiting"], status["counts"]["queued"]) == (2, 0)
    run_worker()
    assert sandbox_messages(store.id) == []
    record_success(store.id, "email", "sandbox")
    client.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=auth)
    drive(app, campaign_id)
    assert len(sandbox_messages(store.id)) == 2


def test_a_test_send_goes_to_the_address_given(app, client, store, auth):
    customers(store, 1)
    campaign_id = compose(client, auth, segment(client, auth))
    answer = client.post(f"/api/v1/campaigns/{campaign_id}/test", headers=auth, json={"address": "me@shop.test"})
    assert answer.get_json()["sent"] is True
    [mail] = sandbox_messages(store.id)
    assert mail.recipient == "me@shop.test" and mail.subject == "[Test] Winter sale, friend"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/test", headers=auth, json={"address": "nope"}
                       ).status_code == 422


def test_messages_already_tried_stay_unsent_while_paused_and_go_once_on_resume(app, client, store, auth):
    customers(store, 3)
    campaign_id = compose(client, auth, segment(client, auth))
    client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
    pump(campaign_id, app.extensions["runtime_settings"])
    # One row was claimed once and handed back (a batch out of time, quiet hours): pausing cannot
    # simply delete it, so the send-time check must hold it back.
    tried = db.session.scalar(select(Notification).where(Notification.campaign_id == campaign_id).limit(1))
    tried.attempts = 1
    db.session.commit()
    paused = client.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=auth).get_json()
    assert paused["counts"]["waiting"] == 2 and paused["counts"]["queued"] == 1
    enqueue_ids("marketing", [tried.id])
    run_worker()
    assert sandbox_messages(store.id) == []
    db.session.expire_all()
    assert db.session.get(Notification, tried.id).error == "held back: the campaign was paused"
    client.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=auth)
    drive(app, campaign_id)
    assert sorted(m.recipient for m in sandbox_messages(store.id)) == [f"c{i}@shop.test" for i in range(3)]


def test_a_cancelled_campaigns_queued_messages_are_never_sent(app, client, store, auth):
    customers(store, 3)
    campaign_id = compose(client, auth, segment(client, auth))
    client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
    pump(campaign_id, app.extensions["runtime_settings"])
    db.session.execute(update(Notification).where(Notification.campaign_id == campaign_id).values(attempts=1))
    db.session.commit()
    assert client.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=auth).get_json()["status"] == "cancelled"
    run_worker()
    assert sandbox_messages(store.id) == []
    assert client.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=auth).status_code == 409
    # A pump pass still queued finds the campaign cancelled and writes nothing.
    assert pump(campaign_id, app.extensions["runtime_settings"]) == "cancelled"


def test_resend_to_failed_twice_at_once_resends_each_once(app, client, store, auth):
    customers(store, 3)
    campaign_id = compose(client, auth, segment(client, auth))
    client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
    drive(app, campaign_id)
    db.session.execute(update(Notification).where(Notification.campaign_id == campaign_id)
                       .values(status="failed", error="sandbox: HTTP 503"))
    db.session.commit()
    first = client.post(f"/api/v1/campaigns/{campaign_id}/resend-failed", headers=auth).get_json()
    second = client.post(f"/api/v1/campaigns/{campaign_id}/resend-failed", headers=auth).get_json()
    assert (first["resent"], second["resent"]) == (3, 0)
    drive(app, campaign_id)
    assert len(sandbox_messages(store.id)) == 6  # the first three, then one each again


def test_a_recipient_whose_message_cannot_render_is_left_out_and_the_rest_go(app, client, store, auth):
    customers(store, 4)  # c0 and c2 have no name
    content = {"en": {"subject": "Hi", "body": "<p>{{ 10 // (customer.name|length) }}</p>"}}  # 0 for no name
    campaign_id = compose(client, auth, segment(client, auth), content=content)
    client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
    drive(app, campaign_id)
    assert sorted(m.recipient for m in sandbox_messages(store.id)) == ["c1@shop.test", "c3@shop.test"]
    counts = client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth).get_json()["counts"]
    assert counts["excluded"] == 2 and any(why.startswith("template error") for why in counts["reasons"])


def test_more_bad_campaigns_refused_naming_the_field(app, client, store, auth):
    customers(store, 1)
    segment_id = segment(client, auth)
    sms = {"name": "S", "channel": "sms", "segment_id": segment_id, "content": {"en": {"body": "Sale"}},
           "ab_test": {"field": "subject", "b": {"en": "x"}}}
    assert client.post("/api/v1/campaigns", headers=auth, json=sms).get_json()["field"] == "ab_test.field"
    last_week = (utcnow() - timedelta(days=7)).isoformat()
    local = compose(client, auth, segment_id, send_at=last_week, local_time=True)
    assert client.post(f"/api/v1/campaigns/{local}/send", headers=auth).get_json()["field"] == "send_at"


def test_editing_in_the_dashboard_keeps_what_the_form_does_not_show(app, client, store, auth, login_as):
    customers(store, 1)
    campaign_id = compose(client, auth, segment(client, auth),
                          sender={"name": "Ana at Demo", "reply_to": "a@shop.test"},
                          utm={"source": "news", "term": "wool"}, rate_limits=[{"per": "day", "limit": 5000}])
    login_as("marketer")
    page = client.get(f"/campaigns/{campaign_id}/edit").get_data(as_text=True)
    assert "Ana at Demo" not in page  # no input for it
    form = {"csrf_token": client.csrf, "name": "Winter 2", "channel": "email", "segment_id": "1", "locale-0": "en",
            "subject-0": "Hi", "body-0": "<p>Hi</p>", "reply_to": "a@shop.test", "utm_source": "news",
            "per_minute": "100"}
    assert client.post(f"/campaigns/{campaign_id}/edit", data=form).status_code == 302
    saved = client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth).get_json()
    assert saved["name"] == "Winter 2" and saved["sender"] == {"name": "Ana at Demo", "reply_to": "a@shop.test"}
    assert saved["utm"] == {"source": "news", "term": "wool"}
    limits = sorted(saved["rate_limits"], key=lambda limit: limit["per"])
    assert limits == [{"per": "day", "limit": 5000}, {"per": "minute", "limit": 100}]
