"""Vonage, Plivo and 360dialog call back through the generic route with their documented payloads:
delivery receipts move the notification, inbound STOP / START suppress and release the number,
and a request not signed (or not carrying the token) with the store's credentials writes nothing."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from sqlalchemy import func, select

from tests.factories import make_customer
from webapp.channels.accounts import configure_provider
from webapp.consent.models import ChannelSuppression, ConsentEvent, ProcessedCallback
from webapp.dispatch.models import Notification, NotificationEvent
from webapp.extensions import db

VONAGE_SECRET = "vonage-signature-secret-0123"
PLIVO_TOKEN = "plivo-auth-token-0123456789"
D360_TOKEN = "d360-webhook-token-0123456789"
PHONE = "+447700900123"


def sent_notification(store, provider: str, message_id: str, channel: str = "sms", recipient: str = PHONE):
    row = Notification(store_id=store.id, source="api", message_type="order.ready", channel=channel,
                       priority="transactional", recipient=recipient, body="Ready", status="sent",
                       provider=provider, provider_message_id=message_id,
                       idempotency_key=hashlib.sha256(f"{provider}:{message_id}".encode()).hexdigest())
    db.session.add(row)
    db.session.commit()
    return row


def reload(row):
    db.session.expire_all()
    return db.session.get(Notification, row.id)


def timeline(row) -> list[tuple[str, str]]:
    return [(e.kind, e.detail) for e in db.session.scalars(
        select(NotificationEvent).where(NotificationEvent.notification_id == row.id).order_by(NotificationEvent.id))]


def suppressions(store) -> dict:
    db.session.expire_all()
    return {(s.channel, s.address): s.reason for s in db.session.scalars(
        select(ChannelSuppression).where(ChannelSuppression.store_id == store.id))}


def written(store) -> int:
    return sum(db.session.scalar(select(func.count()).select_from(model).where(model.store_id == store.id))
               for model in (ChannelSuppression, ConsentEvent, ProcessedCallback))


# --- Vonage --------------------------------------------------------------------------------------------


@pytest.fixture
def vonage(store):
    configure_provider(store.id, "sms", "vonage", {"api_key": "abc123", "api_secret": "vonage-api-secret",
                                                   "from_number": "AcmeGoods", "signature_secret": VONAGE_SECRET,
                                                   "signature_method": "sha256"})


def vonage_signed(params: dict, secret: str = VONAGE_SECRET, method: str = "sha256", timestamp=None) -> dict:
    """Signed as developer.vonage.com's "Signing messages" describes, written out independently here."""
    params = {**params, "timestamp": str(int(timestamp or time.time())), "nonce": f"nonce-{time.time_ns()}"}
    text = "".join(f"&{k}={str(v).replace('&', '_').replace('=', '_')}" for k, v in sorted(params.items()))
    if method == "md5hash":
        sig = hashlib.md5((text + secret).encode()).hexdigest()  # noqa: S324
    else:
        sig = hmac.new(secret.encode(), text.encode(), getattr(hashlib, method)).hexdigest().upper()
    return {**params, "sig": sig}


VONAGE_DLR = {"err-code": "0", "message-timestamp": "2018-10-25 12:10:29", "messageId": "0B00000127FDBC63",
              "msisdn": "447700900123", "network-code": "23410", "price": "0.03330000", "scts": "1810251310",
              "status": "delivered", "to": "AcmeGoods", "api-key": "abc123"}


def test_vonage_delivery_receipt_as_json_form_or_query_marks_delivered(client, store, vonage):
    row = sent_notification(store, "vonage", "0B00000127FDBC63")
    url = f"/callbacks/vonage/{store.slug}/status"
    assert client.post(url, json=vonage_signed(VONAGE_DLR)).get_json() == {"status": "updated"}
    assert reload(row).status == "delivered"
    assert ("delivered", "Vonage status delivered") in timeline(row)

    failed = sent_notification(store, "vonage", "0B00000127FDBC64")
    dlr = {**VONAGE_DLR, "messageId": "0B00000127FDBC64", "status": "failed", "err-code": "3"}
    assert client.post(url, data=vonage_signed(dlr)).status_code == 200  # POST form
    assert reload(failed).status == "failed"
    assert "error 3 (absent subscriber (permanent))" in reload(failed).error

    buffered = sent_notification(store, "vonage", "0B00000127FDBC65")
    dlr = {**VONAGE_DLR, "messageId": "0B00000127FDBC65", "status": "buffered"}
    configure_provider(store.id, "sms", "vonage", {"signature_method": ""})  # Vonage's default: md5hash
    assert client.get(url, query_string=vonage_signed(dlr)).status_code == 403
    assert client.get(url, query_string=vonage_signed(dlr, method="md5hash")).status_code == 200  # GET
    assert reload(buffered).status == "sent" and timeline(buffered)[-1][0] == "deferred"


def test_vonage_refuses_unsigned_tampered_stale_and_wrong_secret_requests(client, store, vonage):
    row = sent_notification(store, "vonage", "0B00000127FDBC63")
    url = f"/callbacks/vonage/{store.slug}/status"
    tampered = {**vonage_signed(VONAGE_DLR), "status": "failed"}
    for params in (VONAGE_DLR, tampered, vonage_signed(VONAGE_DLR, secret="other-secret"),
                   vonage_signed(VONAGE_DLR, timestamp=time.time() - 3600)):
        assert client.post(url, json=params).status_code == 403
    assert reload(row).status == "sent" and written(store) == 0
    assert client.post("/callbacks/vonage/no-such-store/status", json=vonage_signed(VONAGE_DLR)).status_code == 404
    assert client.post(f"/callbacks/vonage/{store.slug}/nonsense", json=vonage_signed(VONAGE_DLR)).status_code == 404


def test_vonage_replayed_receipt_changes_nothing(client, store, vonage):
    row = sent_notification(store, "vonage", "0B00000127FDBC65")
    dlr = vonage_signed({**VONAGE_DLR, "messageId": "0B00000127FDBC65", "status": "buffered"})
    url = f"/callbacks/vonage/{store.slug}/status"
    assert client.post(url, json=dlr).get_json() == {"status": "updated"}
    assert client.post(url, json=dlr).get_json() == {"status": "ignored"}
    assert [kind for kind, _ in timeline(row)].count("deferred") == 1


def test_vonage_inbound_stop_and_start(client, store, vonage):
    customer = make_customer(store, phone=PHONE)
    url = f"/callbacks/vonage/{store.slug}/inbound"
    inbound = {"msisdn": "447700900123", "to": "447700900000", "messageId": "0A0000000123ABCD1",
               "text": "Stop", "type": "text", "keyword": "STOP", "api-key": "abc123",
               "message-timestamp": "2020-01-01 12:00:00"}
    assert client.post(url, json=vonage_signed(inbound)).status_code == 200
    assert suppressions(store) == {("sms", PHONE): "opted out (STOP)"}
    event = db.session.scalar(select(ConsentEvent).where(ConsentEvent.store_id == store.id))
    assert (event.action, event.source, event.detail, event.customer_id) == ("opt_out", "vonage inbound", "STOP",
                                                                            customer.id)
    replay = vonage_signed(inbound)
    client.post(url, json=replay)
    assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == 1  # same messageId: once
    start = {**inbound, "messageId": "0A0000000123ABCD2", "text": "START", "keyword": "START"}
    assert client.post(url, data=vonage_signed(start)).status_code == 200
    assert suppressions(store) == {}
    assert client.post(url, json={**inbound, "text": "STOP"}).status_code == 403  # unsigned: nothing
    assert suppressions(store) == {}


# --- Plivo ---------------------------------------------------------------------------------------------


@pytest.fixture
def plivo(store):
    configure_provider(store.id, "sms", "plivo", {"auth_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": PLIVO_TOKEN,
                                                  "from_number": "+14155550000"})


def plivo_post(client, url: str, params: dict, token: str = PLIVO_TOKEN, nonce: str = "12345678901234567890"):
    """Signed with Plivo's signature V3 for a POST, written out independently of the app's code."""
    base = f"http://localhost{url}"
    signed = base + "?" + "".join(k + params[k] for k in sorted(params))
    digest = hmac.new(token.encode(), f"{signed}.{nonce}".encode(), hashlib.sha256).digest()
    headers = {"X-Plivo-Signature-V3": "other-signature," + base64.b64encode(digest).decode(),
               "X-Plivo-Signature-V3-Nonce": nonce}
    return client.post(base, data=params, headers=headers)


PLIVO_STATUS = {"MessageUUID": "db3ce55a-7f1d-11e1-8ea7-1231380bc196", "Status": "delivered", "To": "447700900123",
                "From": "14155550000", "Type": "sms", "Units": "1", "TotalRate": "0.0035", "TotalAmount": "0.0035",
                "MCC": "234", "MNC": "10", "ErrorCode": "", "PartInfo": "1 of 1", "Sequence": "1"}


def test_plivo_message_status_marks_delivered_and_undelivered(client, store, plivo):
    row = sent_notification(store, "plivo", PLIVO_STATUS["MessageUUID"])
    url = f"/callbacks/plivo/{store.slug}/status"
    queued = {**PLIVO_STATUS, "Status": "queued"}
    assert plivo_post(client, url, queued).get_json() == {"status": "ignored"}
    assert plivo_post(client, url, PLIVO_STATUS).get_json() == {"status": "updated"}
    assert reload(row).status == "delivered"
    other = sent_notification(store, "plivo", "aa3ce55a-7f1d-11e1-8ea7-1231380bc196")
    status = {**PLIVO_STATUS, "MessageUUID": "aa3ce55a-7f1d-11e1-8ea7-1231380bc196", "Status": "undelivered",
              "ErrorCode": "30"}
    assert plivo_post(client, url, status).status_code == 200
    assert reload(other).status == "failed" and "error 30" in reload(other).error


def test_plivo_refuses_requests_not_signed_with_the_auth_token(client, store, plivo):
    row = sent_notification(store, "plivo", PLIVO_STATUS["MessageUUID"])
    url = f"/callbacks/plivo/{store.slug}/status"
    assert plivo_post(client, url, PLIVO_STATUS, token="wrong-token").status_code == 403
    assert client.post(url, data=PLIVO_STATUS).status_code == 403
    signed_for_other_url = plivo_post(client, f"/callbacks/plivo/{store.slug}/inbound", PLIVO_STATUS)
    assert signed_for_other_url.status_code == 200  # valid for its own URL, and not a receipt there
    assert reload(row).status == "sent" and written(store) == 0


def test_plivo_inbound_stop_suppresses_the_number_once(client, store, plivo):
    url = f"/callbacks/plivo/{store.slug}/inbound"
    message = {"From": "447700900123", "To": "14155550000", "Type": "sms", "Text": "STOP",
               "MessageUUID": "5b40f9f4-1111-11e1-8ea7-1231380bc196", "Units": "1"}
    assert plivo_post(client, url, message).status_code == 200
    assert plivo_post(client, url, message).status_code == 200  # Plivo retried: recorded once
    assert suppressions(store) == {("sms", PHONE): "opted out (STOP)"}
    assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == 1
    hello = {**message, "Text": "Where is my order?", "MessageUUID": "5b40f9f4-2222-11e1-8ea7-1231380bc196"}
    assert plivo_post(client, url, hello).get_json() == {"status": "ignored"}


# --- 360dialog -----------------------------------------------------------------------------------------


@pytest.fixture
def dialog360(store):
    configure_provider(store.id, "whatsapp", "360dialog", {"api_key": "d360-api-key-0123456789",
                                                            "webhook_token": D360_TOKEN})


def cloud_api(value: dict) -> dict:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                **value}}]}]}


WAMID = "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"


def d360_post(client, store, payload: dict, token: str | None = D360_TOKEN):
    headers = {"X-Webhook-Token": token} if token else {}
    return client.post(f"/callbacks/360dialog/{store.slug}", data=json.dumps(payload),
                       content_type="application/json", headers=headers)


def test_360dialog_statuses_in_both_payload_shapes(client, store, dialog360):
    row = sent_notification(store, "360dialog", WAMID, channel="whatsapp")
    delivered = cloud_api({"statuses": [{"id": WAMID, "status": "delivered", "timestamp": "1750263773",
                                         "recipient_id": "447700900123",
                                         "conversation": {"id": "c1", "origin": {"type": "utility"}},
                                         "pricing": {"billable": True, "category": "utility"}}]})
    assert d360_post(client, store, delivered).get_json() == {"status": "updated"}
    assert reload(row).status == "delivered"
    read = {"statuses": [{"id": WAMID, "status": "read", "timestamp": "1750263799", "recipient_id": "447700900123"}]}
    assert d360_post(client, store, read).status_code == 200  # On-Premise shape
    assert timeline(row)[-1][0] == "opened"
    failed_row = sent_notification(store, "360dialog", "wamid.failed-1", channel="whatsapp")
    failed = cloud_api({"statuses": [{"id": "wamid.failed-1", "status": "failed", "timestamp": "1750263800",
                                      "recipient_id": "447700900123",
                                      "errors": [{"code": 131026, "title": "Message undeliverable"}]}]})
    d360_post(client, store, failed)
    assert reload(failed_row).status == "failed"
    assert "error 131026 (Message undeliverable)" in reload(failed_row).error


def test_360dialog_inbound_stop_and_start_for_whatsapp(client, store, dialog360):
    stop = cloud_api({"contacts": [{"profile": {"name": "Kerry"}, "wa_id": "447700900123"}],
                      "messages": [{"from": "447700900123", "id": "wamid.in-1", "timestamp": "1750263773",
                                    "type": "text", "text": {"body": "stop"}}]})
    assert d360_post(client, store, stop).status_code == 200
    assert d360_post(client, store, stop).status_code == 200  # retried: once
    assert suppressions(store) == {("whatsapp", PHONE): "opted out (STOP)"}
    assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == 1
    start = cloud_api({"messages": [{"from": "447700900123", "id": "wamid.in-2", "timestamp": "1750263999",
                                     "type": "button", "button": {"text": "START", "payload": "START"}}]})
    d360_post(client, store, start)
    assert suppressions(store) == {}


def test_360dialog_refuses_requests_without_the_webhook_token(client, store, dialog360):
    row = sent_notification(store, "360dialog", WAMID, channel="whatsapp")
    delivered = cloud_api({"statuses": [{"id": WAMID, "status": "delivered", "recipient_id": "447700900123"}]})
    stop = cloud_api({"messages": [{"from": "447700900123", "id": "wamid.in-1", "type": "text",
                                    "text": {"body": "STOP"}}]})
    for payload in (delivered, stop):
        assert d360_post(client, store, payload, token=None).status_code == 403
        assert d360_post(client, store, payload, token="guessed-token").status_code == 403
    assert reload(row).status == "sent" and written(store) == 0
