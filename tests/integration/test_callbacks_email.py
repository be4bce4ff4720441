"""Email delivery events: SendGrid's signed Event Webhook, Mailgun's webhooks and SES through SNS,
with bounces and complaints suppressing the address."""
import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from tests.factories import make_customer
from tests.fakes.sns import URL_PATTERN, FakeSNS
from tests.pipeline import connect_sources, notifications, post_shopify, run_worker, set_rule, shopify_order
from tests.runtime import reconfigure
from webapp.channels.accounts import ProviderSettingsError, configure_provider
from webapp.channels.models import ProviderConfig
from webapp.channels.providers import sns
from webapp.consent.models import ChannelSuppression, ConsentEvent, ProcessedCallback
from webapp.crypto import vault
from webapp.dispatch import models as m
from webapp.extensions import db

BOB = "bob.norman@hostmail.com"


def make_sent(store, provider: str, message_id: str, recipient: str = BOB, customer=None, status=m.SENT):
    row = m.Notification(store_id=store.id, customer_id=customer.id if customer else None, source="shopify",
                         message_type="order.cancelled", channel="email", priority="transactional",
                         recipient=recipient, subject="Order #1001 was cancelled", body="…", status=status,
                         idempotency_key=uuid.uuid4().hex, provider=provider, provider_message_id=message_id)
    db.session.add(row)
    db.session.commit()
    return row


def reload(row):
    db.session.expire_all()
    return db.session.get(m.Notification, row.id)


def suppressions(store_id):
    db.session.expire_all()
    return {(s.channel, s.address): s.reason for s in db.session.scalars(
        select(ChannelSuppression).where(ChannelSuppression.store_id == store_id))}


def consent_events(store_id):
    return [(e.action, e.channel, e.address, e.customer_id) for e in db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.store_id == store_id).order_by(ConsentEvent.id))]


def nothing_written(store_id):
    db.session.expire_all()
    return (suppressions(store_id) == {} and consent_events(store_id) == []
            and db.session.scalar(select(ProcessedCallback.id)) is None)


# --- SendGrid ----------------------------------------------------------------------------------------------------


@pytest.fixture
def sg_key():
    return ec.generate_private_key(ec.SECP256R1())


def public_key_b64(private_key) -> str:
    der = private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


@pytest.fixture
def sendgrid_store(store, sg_key):
    configure_provider(store.id, "email", "sendgrid", {"api_key": "SG.key.0123456789", "from_email": "orders@acme.test",
                                                       "event_webhook_public_key": public_key_b64(sg_key)})
    return store


def sg_event(event: str, message_id: str = "sg-1", **fields) -> dict:
    return {"email": BOB, "timestamp": int(time.time()), "event": event, "sg_event_id": uuid.uuid4().hex,
            "sg_message_id": f"{message_id}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0", **fields}


def post_sendgrid(client, store, events, key, timestamp: int | None = None, signature: str | None = None,
                  slug: str | None = None):
    body = json.dumps(events)
    ts = str(timestamp if timestamp is not None else int(time.time()))
    if signature is None:
        signature = base64.b64encode(key.sign((ts + body).encode(), ec.ECDSA(hashes.SHA256()))).decode()
    return client.post(f"/callbacks/sendgrid/{slug or store.slug}/events", data=body, headers={
        "Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": ts})


def test_sendgrid_delivered_open_click_and_replays(client, sendgrid_store, sg_key):
    store = sendgrid_store
    row = make_sent(store, "sendgrid", "sg-1")
    delivered = sg_event("delivered", response="250 OK")
    assert post_sendgrid(client, store, [delivered, sg_event("processed")], sg_key).get_json() == {"status": "updated"}
    assert post_sendgrid(client, store, [delivered], sg_key).get_json() == {"status": "ignored"}  # replay
    opened, clicked = sg_event("open"), sg_event("click", url="https://acme.test/orders/1001")
    assert post_sendgrid(client, store, [opened, clicked], sg_key).get_json() == {"status": "updated"}
    row = reload(row)
    assert row.status == "delivered"
    assert [(e.kind, e.detail) for e in row.events] == [
        ("delivered", "250 OK"), ("opened", "receipt from sendgrid"), ("clicked", "https://acme.test/orders/1001")]
    assert suppressions(store.id) == {}


def test_sendgrid_hard_bounce_fails_and_suppresses_but_blocked_is_only_on_the_timeline(client, sendgrid_store, sg_key):
    store = sendgrid_store
    customer = make_customer(store, email=BOB)
    blocked_row = make_sent(store, "sendgrid", "sg-1", customer=customer)
    bounced_row = make_sent(store, "sendgrid", "sg-2", customer=customer)
    events = [sg_event("bounce", "sg-1", type="blocked", reason="IP on a blocklist"),
              sg_event("bounce", "sg-2", type="bounce", reason="550 5.1.1 user unknown")]
    assert post_sendgrid(client, store, events, sg_key).get_json() == {"status": "updated"}
    blocked_row, bounced_row = reload(blocked_row), reload(bounced_row)
    assert blocked_row.status == "sent" and blocked_row.events[-1].kind == "blocked"
    assert bounced_row.status == "failed" and bounced_row.error == "sendgrid: bounced (550 5.1.1 user unknown)"
    assert suppressions(store.id) == {("email", BOB): "bounced: 550 5.1.1 user unknown"}
    assert consent_events(store.id) == [("bounce", "email", BOB, customer.id)]


def test_sendgrid_dropped_spamreport_and_unsubscribe(client, sendgrid_store, sg_key):
    store = sendgrid_store
    dropped = make_sent(store, "sendgrid", "sg-1", recipient="a@example.test")
    spam = make_sent(store, "sendgrid", "sg-2", recipient="b@example.test", status=m.DELIVERED)
    unsub = make_sent(store, "sendgrid", "sg-3", recipient="c@example.test", status=m.DELIVERED)
    events = [sg_event("dropped", "sg-1", reason="Invalid"), sg_event("spamreport", "sg-2"),
              sg_event("group_unsubscribe", "sg-3")]
    assert post_sendgrid(client, store, events, sg_key).status_code == 200
    assert (reload(dropped).status, reload(dropped).error) == ("failed", "sendgrid: dropped (Invalid)")
    assert (reload(spam).status, reload(spam).error) == ("failed", "sendgrid: complained")
    assert reload(unsub).status == "delivered" and reload(unsub).events[-1].kind == "unsubscribed"
    assert suppressions(store.id) == {("email", "b@example.test"): "complained",
                                      ("email", "c@example.test"): "opted out (unsubscribe)"}
    assert [e[0] for e in consent_events(store.id)] == ["complaint", "opt_out"]


def test_sendgrid_rejects_unsigned_forged_and_stale_requests(client, sendgrid_store, sg_key):
    store = sendgrid_store
    row = make_sent(store, "sendgrid", "sg-1")
    events = [sg_event("bounce", type="bounce", reason="550")]
    other_key = ec.generate_private_key(ec.SECP256R1())
    assert post_sendgrid(client, store, events, other_key).status_code == 403
    assert post_sendgrid(client, store, events, sg_key, signature="").status_code == 403
    assert post_sendgrid(client, store, events, sg_key, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert post_sendgrid(client, store, events, sg_key, timestamp=int(time.time()) - 700).status_code == 403
    assert client.post(f"/callbacks/sendgrid/{store.slug}/events", data="[]").status_code == 403
    assert post_sendgrid(client, store, events, sg_key, slug="no-such-store").status_code == 404
    assert reload(row).status == "sent" and nothing_written(store.id)
    unknown = post_sendgrid(client, store, [sg_event("delivered", "sg-unknown")], sg_key)
    assert unknown.status_code == 200 and unknown.get_json() == {"status": "ignored"}


def test_sendgrid_without_a_configured_key_is_refused(client, store, sg_key):
    make_sent(store, "sendgrid", "sg-1")
    assert post_sendgrid(client, store, [sg_event("delivered")], sg_key).status_code == 403


def test_events_are_scoped_to_the_store_in_the_url(client, sendgrid_store, sg_key):
    from tests.factories import make_store

    other = make_store("other")
    row = make_sent(other, "sendgrid", "sg-1")
    assert post_sendgrid(client, sendgrid_store, [sg_event("bounce", type="bounce")], sg_key).get_json() == {
        "status": "ignored"}
    assert reload(row).status == "sent" and suppressions(other.id) == {}


def test_a_bounced_address_is_suppressed_but_a_changed_address_is_messaged_again(client, sendgrid_store, sg_key):
    store = sendgrid_store
    make_sent(store, "sendgrid", "sg-1")
    post_sendgrid(client, store, [sg_event("bounce", type="bounce", reason="550 mailbox unavailable")], sg_key)
    for row in db.session.scalars(select(ProviderConfig).where(ProviderConfig.store_id == store.id)):
        db.session.delete(row)
    db.session.commit()
    configure_provider(store.id, "email", "sandbox", {})
    connect_sources(store)
    set_rule(store, "shopify", "sent_for_processing", ("email",))
    set_rule(store, "shopify", "processing", ("email",))
    post_shopify(client, store, "orders/paid", shopify_order(updated_at="2024-05-01T10:00:00Z"), "wh-1")
    run_worker()
    suppressed = notifications(store.id)[-1]
    assert (suppressed.recipient, suppressed.status) == (BOB, "suppressed")
    order = shopify_order(updated_at="2024-05-02T10:00:00Z", email="bob@newmail.test")
    order["customer"]["email"] = "bob@newmail.test"
    post_shopify(client, store, "orders/partially_fulfilled", order, "wh-2")
    run_worker()
    sent = notifications(store.id)[-1]
    assert (sent.recipient, sent.status) == ("bob@newmail.test", "sent")


# --- Mailgun -----------------------------------------------------------------------------------------------------

MAILGUN_KEY = "key-mailgun-signing-0123456789"


@pytest.fixture
def mailgun_store(store):
    values = {"api_key": "mg-api-key", "domain": "mg.acme.test", "from_email": "orders@acme.test",
              "webhook_signing_key": MAILGUN_KEY}
    try:
        configure_provider(store.id, "email", "mailgun", values)
    except ProviderSettingsError:  # the Mailgun provider's own fields may differ; only the signing key matters here
        db.session.rollback()
        db.session.add(ProviderConfig(store_id=store.id, channel="email", provider="mailgun", position=5, settings={},
                                      secrets_encrypted=vault().encrypt(json.dumps(values))))
        db.session.commit()
    return store


def post_mailgun(client, store, event_data: dict, key: str = MAILGUN_KEY, timestamp: int | None = None,
                 token: str | None = None):
    ts = str(timestamp if timestamp is not None else int(time.time()))
    token = token or uuid.uuid4().hex
    digest = hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
    body = {"signature": {"timestamp": ts, "token": token, "signature": digest}, "event-data": event_data}
    return client.post(f"/callbacks/mailgun/{store.slug}", json=body)


def mg_event(event: str, message_id: str = "20240502.1@mg.acme.test", **fields) -> dict:
    return {"event": event, "id": uuid.uuid4().hex, "timestamp": time.time(), "recipient": BOB,
            "message": {"headers": {"message-id": message_id}}, **fields}


def test_mailgun_delivered_opened_and_permanent_failure(client, mailgun_store):
    store = mailgun_store
    delivered = make_sent(store, "mailgun", "<20240502.1@mg.acme.test>")
    bounced = make_sent(store, "mailgun", "20240502.2@mg.acme.test", recipient="gone@example.test")
    token = uuid.uuid4().hex
    assert post_mailgun(client, store, mg_event("delivered"), token=token).get_json() == {"status": "updated"}
    assert post_mailgun(client, store, mg_event("delivered"), token=token).get_json() == {"status": "ignored"}
    assert post_mailgun(client, store, mg_event("opened")).get_json() == {"status": "updated"}
    temporary = mg_event("failed", "20240502.2@mg.acme.test", severity="temporary",
                         **{"delivery-status": {"description": "mailbox full"}})
    assert post_mailgun(client, store, temporary).get_json() == {"status": "updated"}
    assert reload(bounced).status == "sent" and suppressions(store.id) == {}
    permanent = mg_event("failed", "20240502.2@mg.acme.test", severity="permanent",
                         **{"delivery-status": {"description": "No such user"}})
    assert post_mailgun(client, store, permanent).get_json() == {"status": "updated"}
    assert [e.kind for e in reload(delivered).events] == ["delivered", "opened"]
    bounced = reload(bounced)
    assert (bounced.status, bounced.error) == ("failed", "mailgun: bounced (No such user)")
    assert [e.kind for e in bounced.events] == ["deferred", "bounced"]
    assert suppressions(store.id) == {("email", "gone@example.test"): "bounced: No such user"}


def test_mailgun_complaint_and_unsubscribe_suppress(client, mailgun_store):
    store = mailgun_store
    make_sent(store, "mailgun", "<1@mg.acme.test>", recipient="a@example.test", status=m.DELIVERED)
    make_sent(store, "mailgun", "<2@mg.acme.test>", recipient="b@example.test", status=m.DELIVERED)
    post_mailgun(client, store, mg_event("complained", "1@mg.acme.test"))
    post_mailgun(client, store, mg_event("unsubscribed", "<2@mg.acme.test>"))
    assert suppressions(store.id) == {("email", "a@example.test"): "complained",
                                      ("email", "b@example.test"): "opted out (unsubscribe)"}


def test_mailgun_unsigned_writes_nothing_and_unknown_is_ignored(client, mailgun_store):
    store = mailgun_store
    row = make_sent(store, "mailgun", "<20240502.1@mg.acme.test>")
    event = mg_event("failed", severity="permanent")
    assert post_mailgun(client, store, event, key="wrong-key").status_code == 403
    assert post_mailgun(client, store, event, timestamp=int(time.time()) - 700).status_code == 403
    assert client.post(f"/callbacks/mailgun/{store.slug}", json={"event-data": event}).status_code == 403
    assert client.post(f"/callbacks/mailgun/{store.slug}", data="not json").status_code == 403
    assert client.post("/callbacks/mailgun/no-such-store", json={}).status_code == 404
    assert reload(row).status == "sent" and nothing_written(store.id)
    unknown = post_mailgun(client, store, mg_event("delivered", "nobody@mg.acme.test"))
    assert unknown.status_code == 200 and unknown.get_json() == {"status": "ignored"}


# --- SES via SNS -------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_sns(app, store):
    from tests.fakes.sns import TOPIC_ARN

    fake = FakeSNS()
    reconfigure(app, SNS_CERT_URL_PATTERN=URL_PATTERN)
    configure_provider(store.id, "email", "ses", {"region": "us-east-1", "access_key_id": "AKIAEXAMPLE0000",
                                                  "secret_access_key": "ses-secret-0123456789",
                                                  "from_email": "orders@acme.test", "sns_topic_arn": TOPIC_ARN})
    yield fake
    fake.close()


def ses_event(kind: str, message_id: str = "0100018f-ses-1", **fields) -> dict:
    return {"eventType": kind, "mail": {"messageId": message_id, "destination": [BOB]}, **fields}


def post_sns(client, store, message: dict):
    return client.post(f"/callbacks/ses/{store.slug}", data=json.dumps(message),
                       headers={"Content-Type": "text/plain; charset=UTF-8",
                                "x-amz-sns-message-type": message["Type"]})


def test_ses_subscription_is_confirmed(client, store, fake_sns):
    response = post_sns(client, store, fake_sns.subscription_confirmation())
    assert response.status_code == 200 and len(fake_sns.confirmed) == 1


def test_ses_delivery_open_bounce_and_complaint(client, store, fake_sns):
    delivered = make_sent(store, "ses", "0100018f-ses-1")
    bounced = make_sent(store, "ses", "0100018f-ses-2", recipient="Gone@Example.test")
    complained = make_sent(store, "ses", "0100018f-ses-3", recipient="c@example.test")
    message = fake_sns.notification(ses_event("Delivery", delivery={"smtpResponse": "250 ok"}))
    assert post_sns(client, store, message).get_json() == {"status": "updated"}
    assert post_sns(client, store, message).get_json() == {"status": "ignored"}  # same SNS MessageId
    opened = fake_sns.notification(ses_event("Open", open={}), version="2")
    assert post_sns(client, store, opened).get_json() == {"status": "updated"}
    bounce = {"bounceType": "Permanent", "bounceSubType": "General",
              "bouncedRecipients": [{"emailAddress": "gone@example.test", "diagnosticCode": "smtp; 550 5.1.1"}]}
    assert post_sns(client, store, fake_sns.notification(
        {"notificationType": "Bounce", "mail": {"messageId": "0100018f-ses-2"}, "bounce": bounce},
        version="2")).get_json() == {"status": "updated"}
    complaint = {"complainedRecipients": [{"emailAddress": "c@example.test"}], "complaintFeedbackType": "abuse"}
    post_sns(client, store, fake_sns.notification(ses_event("Complaint", "0100018f-ses-3", complaint=complaint)))
    assert [e.kind for e in reload(delivered).events] == ["delivered", "opened"]
    assert (reload(bounced).status, reload(bounced).error) == ("failed", "ses: bounced (smtp; 550 5.1.1)")
    assert reload(complained).status == "failed"
    assert suppressions(store.id) == {("email", "Gone@Example.test"): "bounced: smtp; 550 5.1.1",
                                      ("email", "c@example.test"): "complained"}
    assert fake_sns.cert_fetches == 1  # the certificate is cached


def test_ses_transient_bounce_only_adds_to_the_timeline(client, store, fake_sns):
    row = make_sent(store, "ses", "0100018f-ses-1")
    bounce = {"bounceType": "Transient", "bounceSubType": "MailboxFull", "bouncedRecipients": [{"emailAddress": BOB}]}
    post_sns(client, store, fake_sns.notification(ses_event("Bounce", bounce=bounce)))
    row = reload(row)
    assert row.status == "sent" and row.events[-1].kind == "deferred" and suppressions(store.id) == {}


def test_ses_rejects_forged_messages_and_foreign_certificates(client, store, fake_sns, app):
    row = make_sent(store, "ses", "0100018f-ses-1")
    bounce = {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": BOB}]}
    message = fake_sns.notification(ses_event("Bounce", bounce=bounce))
    tampered = {**message, "Message": message["Message"].replace("Permanent", "Permanent ")}
    assert post_sns(client, store, tampered).status_code == 403
    assert post_sns(client, store, {**message, "SignatureVersion": "3"}).status_code == 403
    assert post_sns(client, store, {**message, "Signature": "!!"}).status_code == 403
    assert client.post(f"/callbacks/ses/{store.slug}", data="nope").status_code == 403
    evil = fake_sns.subscription_confirmation(subscribe_url="https://evil.example/confirm")
    assert post_sns(client, store, evil).status_code == 403
    reconfigure(app, SNS_CERT_URL_PATTERN=None)
    assert post_sns(client, store, message).status_code == 403  # http://127.0.0.1 is no SNS host
    assert post_sns(client, store, message | {"SigningCertURL": "https://sns.us-east-1.amazonaws.com.evil.test/c.pem"}
                    ).status_code == 403
    assert client.post("/callbacks/ses/no-such-store", data=json.dumps(message)).status_code == 404
    assert reload(row).status == "sent" and nothing_written(store.id) and fake_sns.confirmed == []


def test_sns_certificate_url_rule(app):
    reconfigure(app, SNS_CERT_URL_PATTERN=None)
    assert sns.url_allowed("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem")
    assert sns.url_allowed("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem")
    for url in ("http://sns.us-east-1.amazonaws.com/x.pem", "https://sns.us-east-1.amazonaws.com.evil.test/x.pem",
                "https://evil.test/sns.us-east-1.amazonaws.com/x.pem", "https://s3.amazonaws.com/x.pem", "", None,
                "https://sns.us-east-1.amazonaws.com:8443/x.pem"):
        assert not sns.url_allowed(url)


def test_receipts_for_a_batch_reach_each_message_by_its_echoed_notification_id(client, sendgrid_store, sg_key,
                                                                                mailgun_store):
    store = sendgrid_store
    # One batch request: SendGrid gave every message of it the same X-Message-Id.
    first = make_sent(store, "sendgrid", "sg-batch", recipient="a@example.test")
    second = make_sent(store, "sendgrid", "sg-batch", recipient="b@example.test")
    bounce = sg_event("bounce", "sg-batch", type="bounce", email="b@example.test",
                      notification_id=str(second.id), reason="550 no such user")
    assert post_sendgrid(client, store, [bounce], sg_key).get_json() == {"status": "updated"}
    assert (reload(first).status, reload(second).status) == ("sent", "failed")
    # An echoed id must still match the provider's message id: it cannot reach another message.
    other = make_sent(store, "sendgrid", "sg-other")
    forged = sg_event("delivered", "sg-batch", notification_id=str(other.id))
    assert post_sendgrid(client, store, [forged], sg_key).get_json() == {"status": "ignored"}
    assert reload(other).status == "sent"

    mg_first = make_sent(store, "mailgun", "<batch.1@mg.acme.test>", recipient="c@example.test")
    mg_second = make_sent(store, "mailgun", "<batch.1@mg.acme.test>", recipient="d@example.test")
    delivered = mg_event("delivered", "batch.1@mg.acme.test", **{"user-variables": {"notification_id": mg_second.id}})
    assert post_mailgun(client, store, delivered).get_json() == {"status": "updated"}
    assert (reload(mg_first).status, reload(mg_second).status) == ("sent", "delivered")


def test_sendgrid_event_without_a_message_id_is_matched_by_its_notification_id(client, sendgrid_store, sg_key):
    from tests.factories import make_store

    store = sendgrid_store
    row = make_sent(store, "sendgrid", "sg-1")
    foreign = make_sent(make_store("other"), "sendgrid", "sg-2")
    unsubscribe = sg_event("unsubscribe", notification_id=str(row.id))
    del unsubscribe["sg_message_id"]
    foreign_event = sg_event("delivered", notification_id=str(foreign.id))
    del foreign_event["sg_message_id"]
    assert post_sendgrid(client, store, [foreign_event], sg_key).get_json() == {"status": "ignored"}
    assert post_sendgrid(client, store, [unsubscribe], sg_key).get_json() == {"status": "updated"}
    assert reload(row).events[-1].kind == "unsubscribed" and reload(foreign).status == "sent"
    assert suppressions(store.id) == {("email", BOB): "opted out (unsubscribe)"}


def test_sendgrid_key_pasted_as_pem_still_verifies(client, store, sg_key):
    pem = sg_key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    configure_provider(store.id, "email", "sendgrid", {"api_key": "SG.key.0123456789", "from_email": "orders@acme.test",
                                                       "event_webhook_public_key": pem})
    row = make_sent(store, "sendgrid", "sg-1")
    assert post_sendgrid(client, store, [sg_event("delivered")], sg_key).get_json() == {"status": "updated"}
    assert reload(row).status == "delivered"


def test_mailgun_retry_of_the_same_event_with_a_fresh_token_changes_nothing(client, mailgun_store):
    store = mailgun_store
    row = make_sent(store, "mailgun", "<20240502.1@mg.acme.test>")
    opened = mg_event("opened")
    assert post_mailgun(client, store, opened).get_json() == {"status": "updated"}
    assert post_mailgun(client, store, opened).get_json() == {"status": "ignored"}  # new token, same event id
    assert [e.kind for e in reload(row).events] == ["opened"]


def test_ses_hears_only_the_configured_topic(client, store, fake_sns):
    from tests.fakes.sns import TOPIC_ARN

    config = db.session.scalar(select(ProviderConfig).where(ProviderConfig.provider == "ses"))
    config.settings = {**config.settings, "sns_topic_arn": "arn:aws:sns:us-east-1:999999999999:someone-else"}
    db.session.commit()
    row = make_sent(store, "ses", "0100018f-ses-1")
    assert post_sns(client, store, fake_sns.subscription_confirmation()).status_code == 403
    delivered = fake_sns.notification(ses_event("Delivery"))
    assert post_sns(client, store, delivered).status_code == 403
    assert fake_sns.confirmed == [] and reload(row).status == "sent"
    config.settings = {**config.settings, "sns_topic_arn": f"arn:aws:sns:eu-west-1:1:other, {TOPIC_ARN}"}
    db.session.commit()
    assert post_sns(client, store, fake_sns.subscription_confirmation()).status_code == 200
    assert post_sns(client, store, delivered).get_json() == {"status": "updated"}
    assert len(fake_sns.confirmed) == 1 and reload(row).status == "delivered"


def test_ses_events_for_a_store_without_ses_are_refused(client, store, fake_sns):
    for row in db.session.scalars(select(ProviderConfig).where(ProviderConfig.provider == "ses")):
        db.session.delete(row)
    db.session.commit()
    row = make_sent(store, "ses", "0100018f-ses-1")
    assert post_sns(client, store, fake_sns.notification(ses_event("Delivery"))).status_code == 403
    assert reload(row).status == "sent"


def test_an_ses_bounce_suppresses_only_the_messages_own_recipient(client, store, fake_sns):
    row = make_sent(store, "ses", "0100018f-ses-9", recipient="bob@example.test")
    bounce = {"bounceType": "Permanent", "bounceSubType": "General",
              "bouncedRecipients": [{"emailAddress": "bob@example.test"}, {"emailAddress": "ceo@acme.test"}]}
    post_sns(client, store, fake_sns.notification(
        {"notificationType": "Bounce", "mail": {"messageId": "0100018f-ses-9"}, "bounce": bounce}))
    assert reload(row).status == "failed"
    assert set(suppressions(store.id)) == {("email", "bob@example.test")}
