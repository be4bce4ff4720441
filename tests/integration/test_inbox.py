"""The in-app channel: the inbox provider, the storefront feed API (API key and customer token),
device registration, CORS, and Shopify webhook → worker → inbox end to end."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.factories import make_customer, make_store
from tests.pipeline import connect_sources, notifications, post_shopify, run_worker, set_rule, shopify_order
from webapp.channels.accounts import configure_provider
from webapp.channels.providers.base import OutboundMessage, PermanentProviderError
from webapp.channels.providers.inbox import InboxProvider
from webapp.channels.providers.registry import providers
from webapp.customers.models import Customer, CustomerDevice
from webapp.events.api_keys import create_api_key
from webapp.extensions import db
from webapp.inbox.models import InboxMessage
from webapp.inbox.secrets import inbox_secret, rotate_inbox_secret
from webapp.inbox.tokens import mint_token

APNS = "a" * 64
FCM = "dKx9_fake-FCM:APA91bH_token.part"


def send(customer, key="key-1", subject="Your order shipped", body="Order #1 is on its way", store_id=None):
    return InboxProvider().send(OutboundMessage(0, store_id or customer.store_id, "in_app", f"customer:{customer.id}",
                                                subject, body, key))


def add_messages(customer, count: int) -> list[int]:
    return [int(send(customer, key=f"k-{customer.id}-{n}", subject=f"Title {n}").provider_message_id[6:])
            for n in range(count)]


@pytest.fixture
def api_headers(store):
    return {"Authorization": f"Bearer {create_api_key(store.id, 'storefront').plaintext}"}


@pytest.fixture
def customer(store):
    return make_customer(store)


def token_headers(store, customer_id: int, expiry: int | None = None, secret: str | None = None) -> dict:
    secret = secret or inbox_secret(store.id) or rotate_inbox_secret(store.id)
    token = mint_token(secret, store.slug, customer_id, expiry or int(time.time()) + 3600)
    return {"Authorization": f"Bearer {token}", "X-Store": store.slug}


# --- provider -------------------------------------------------------------------------------

def test_inbox_provider_is_registered_with_no_fields():
    cls = providers()["inbox"]
    assert cls is InboxProvider
    assert cls.spec.channels == ("in_app",) and cls.spec.fields == ()
    assert cls.spec.label == "In-app inbox (built in)"


def test_provider_stores_once_per_idempotency_key(store, customer):
    first = send(customer)
    again = send(customer, subject="changed")
    assert first == again and first.provider_message_id.startswith("inbox-")
    rows = db.session.scalars(select(InboxMessage)).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.store_id, row.customer_id, row.title, row.body, row.read_at) == (
        store.id, customer.id, "Your order shipped", "Order #1 is on its way", None)
    assert first.provider_message_id == f"inbox-{row.id}"


def test_provider_rejects_customer_of_another_store_and_bad_recipients(store, customer):
    other = make_customer(make_store("other"))
    with pytest.raises(PermanentProviderError, match="not a customer of this store"):
        send(other, store_id=store.id)
    for recipient in ("customer:abc", "bob@example.test", f"customer:{customer.id} ", ""):
        with pytest.raises(PermanentProviderError, match="not an in-app recipient"):
            InboxProvider().send(OutboundMessage(0, store.id, "in_app", recipient, "t", "b", "k"))
    send(make_customer(store), key="x")
    with pytest.raises(PermanentProviderError, match="not a customer of this store"):
        InboxProvider().send(OutboundMessage(0, store.id, "in_app", "customer:999999", "t", "b", "y"))
    assert db.session.scalar(select(func.count()).select_from(InboxMessage)) == 1  # only the valid "x"


def test_provider_can_be_configured_without_settings(store):
    row = configure_provider(store.id, "in_app", "inbox", {})
    assert (row.provider, row.channel, row.secrets_encrypted) == ("inbox", "in_app", None)


# --- feed with API key ------------------------------------------------------------------------

def test_feed_with_api_key_newest_first_with_unread_count(client, store, customer, api_headers):
    ids = add_messages(customer, 3)
    add_messages(make_customer(store), 2)  # someone else's
    response = client.get(f"/api/v1/customers/{customer.id}/inbox", headers=api_headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [m["id"] for m in body["messages"]] == ids[::-1]
    assert body["messages"][0] == {"id": ids[2], "title": "Title 2", "body": "Order #1 is on its way", "link": None,
                                   "created_at": body["messages"][0]["created_at"], "read": False}
    assert body["unread_count"] == 3 and body["next_before"] is None
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "no-store"


def test_feed_pagination_with_before(client, store, customer, api_headers):
    ids = add_messages(customer, 5)
    url = f"/api/v1/customers/{customer.id}/inbox"
    first = client.get(f"{url}?limit=2", headers=api_headers).get_json()
    assert [m["id"] for m in first["messages"]] == [ids[4], ids[3]] and first["next_before"] == ids[3]
    second = client.get(f"{url}?limit=2&before={first['next_before']}", headers=api_headers).get_json()
    assert [m["id"] for m in second["messages"]] == [ids[2], ids[1]] and second["next_before"] == ids[1]
    last = client.get(f"{url}?limit=2&before={second['next_before']}", headers=api_headers).get_json()
    assert [m["id"] for m in last["messages"]] == [ids[0]] and last["next_before"] is None
    exact = client.get(f"{url}?limit=5", headers=api_headers).get_json()
    assert len(exact["messages"]) == 5 and exact["next_before"] is None
    assert all(page["unread_count"] == 5 for page in (first, second, last))


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "limit=-1", "before=abc", "before=0",
                                   f"before={2**63}"])
def test_feed_rejects_bad_paging_arguments(client, store, customer, api_headers, query):
    response = client.get(f"/api/v1/customers/{customer.id}/inbox?{query}", headers=api_headers)
    assert response.status_code == 400 and "error" in response.get_json()


def test_api_key_of_another_store_or_unknown_customer_is_404(client, store, customer, api_headers):
    other_store = make_store("other")
    stranger = make_customer(other_store)
    add_messages(stranger, 1)
    for customer_id in (stranger.id, 999999, "abc", "0"):
        response = client.get(f"/api/v1/customers/{customer_id}/inbox", headers=api_headers)
        assert response.status_code == 404, customer_id
        assert response.get_json() == {"error": "no such customer in this store"}
    read = client.post(f"/api/v1/customers/{stranger.id}/inbox/read-all", headers=api_headers)
    assert read.status_code == 404
    assert db.session.scalar(select(InboxMessage.read_at)) is None


def test_missing_or_bad_credentials_are_401(client, store, customer):
    url = f"/api/v1/customers/{customer.id}/inbox"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer nh_wrong"}).status_code == 401


def test_api_key_with_a_different_x_store_is_refused(client, store, customer, api_headers):
    make_store("other")
    url = f"/api/v1/customers/{customer.id}/inbox"
    assert client.get(url, headers={**api_headers, "X-Store": "other"}).status_code == 400
    assert client.get(url, headers={**api_headers, "X-Store": store.slug}).status_code == 200


# --- feed with customer token ------------------------------------------------------------------

def test_feed_with_customer_token(client, store, customer):
    ids = add_messages(customer, 2)
    response = client.get(f"/api/v1/customers/{customer.id}/inbox", headers=token_headers(store, customer.id))
    assert response.status_code == 200, response.get_json()
    assert [m["id"] for m in response.get_json()["messages"]] == ids[::-1]


def test_customer_token_is_scoped_to_its_customer(client, store, customer):
    other = make_customer(store)
    add_messages(other, 1)
    headers = token_headers(store, customer.id)
    assert client.get(f"/api/v1/customers/{other.id}/inbox", headers=headers).status_code == 404
    assert client.post(f"/api/v1/customers/{other.id}/inbox/read-all", headers=headers).status_code == 404
    assert client.post(f"/api/v1/customers/{other.id}/devices", json={"platform": "apns", "token": APNS},
                       headers=headers).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(CustomerDevice)) == 0


def test_expired_tampered_and_foreign_tokens_are_401(client, store, customer):
    secret = rotate_inbox_secret(store.id)
    url = f"/api/v1/customers/{customer.id}/inbox"
    expired = client.get(url, headers=token_headers(store, customer.id, expiry=int(time.time()) - 1))
    assert expired.status_code == 401 and expired.get_json()["code"] == "token_expired"

    good = token_headers(store, customer.id)["Authorization"].split()[1]
    cid, expiry, mac = good.split(".")
    tampered = [f"{cid}.{int(expiry) + 60}.{mac}",  # longer life
                f"{int(cid) + 1}.{expiry}.{mac}",  # another customer
                f"{cid}.{expiry}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}",
                f"{cid}.{expiry}", "garbage", f"{good}.extra"]
    for token in tampered:
        response = client.get(url, headers={"Authorization": f"Bearer {token}", "X-Store": store.slug})
        assert response.status_code == 401, token
        assert response.get_json()["code"] == "token_invalid"

    too_long = token_headers(store, customer.id, expiry=int(time.time()) + 40 * 24 * 3600)
    assert client.get(url, headers=too_long).status_code == 401
    wrong_secret = token_headers(store, customer.id, secret="z" * 64)
    assert client.get(url, headers=wrong_secret).status_code == 401
    # Signed for another store's slug: the slug is part of what is signed.
    other = make_store("other")
    foreign = mint_token(secret, other.slug, customer.id, int(time.time()) + 60)
    assert client.get(url, headers={"Authorization": f"Bearer {foreign}", "X-Store": store.slug}).status_code == 401
    # No X-Store, an unknown one, or a store that has no inbox secret.
    valid = {"Authorization": f"Bearer {good}"}
    assert client.get(url, headers=valid).status_code == 401
    assert client.get(url, headers={**valid, "X-Store": "nope"}).status_code == 401
    assert client.get(url, headers={**valid, "X-Store": other.slug}).status_code == 401
    assert client.get(url, headers={**valid, "X-Store": store.slug}).status_code == 200


def test_rotating_the_secret_invalidates_old_tokens(client, store, customer):
    headers = token_headers(store, customer.id)
    url = f"/api/v1/customers/{customer.id}/inbox"
    assert client.get(url, headers=headers).status_code == 200
    new_secret = rotate_inbox_secret(store.id)
    assert len(new_secret) == 64 and inbox_secret(store.id) == new_secret
    assert client.get(url, headers=headers).status_code == 401
    assert client.get(url, headers=token_headers(store, customer.id)).status_code == 200


def test_customer_token_for_a_customer_of_another_store_is_404(client, store):
    other_store = make_store("other")
    stranger = make_customer(other_store)
    # Genuinely signed by acme, but the id is not an acme customer.
    response = client.get(f"/api/v1/customers/{stranger.id}/inbox", headers=token_headers(store, stranger.id))
    assert response.status_code == 404


# --- read state -------------------------------------------------------------------------------

def test_mark_read_and_read_all_are_idempotent(client, store, customer):
    ids = add_messages(customer, 3)
    other_ids = add_messages(make_customer(store), 1)
    headers = token_headers(store, customer.id)
    base = f"/api/v1/customers/{customer.id}/inbox"
    for _ in range(2):
        response = client.post(f"{base}/{ids[0]}/read", headers=headers)
        assert response.status_code == 200 and response.get_json() == {"unread_count": 2}
    feed = client.get(base, headers=headers).get_json()
    assert [m["read"] for m in feed["messages"]] == [False, False, True] and feed["unread_count"] == 2
    first_read_at = db.session.get(InboxMessage, ids[0]).read_at

    assert client.post(f"{base}/{other_ids[0]}/read", headers=headers).status_code == 404
    assert client.post(f"{base}/999999/read", headers=headers).status_code == 404
    assert client.post(f"{base}/abc/read", headers=headers).status_code == 404

    for _ in range(2):
        response = client.post(f"{base}/read-all", headers=headers)
        assert response.status_code == 200 and response.get_json() == {"unread_count": 0}
    db.session.expire_all()
    assert db.session.get(InboxMessage, ids[0]).read_at == first_read_at  # read once, not re-stamped
    assert db.session.get(InboxMessage, other_ids[0]).read_at is None  # someone else's untouched


# --- devices ----------------------------------------------------------------------------------

def test_device_registration_upserts_and_moves_to_the_new_customer(client, store, customer):
    url = f"/api/v1/customers/{customer.id}/devices"
    headers = token_headers(store, customer.id)
    created = client.post(url, json={"platform": "apns", "token": APNS}, headers=headers)
    assert created.status_code == 201, created.get_json()
    device = created.get_json()["device"]
    assert (device["platform"], device["token"]) == ("apns", APNS)

    again = client.post(url, json={"platform": "apns", "token": APNS}, headers=headers)
    assert again.status_code == 200
    assert again.get_json()["device"]["id"] == device["id"]
    assert again.get_json()["device"]["last_seen_at"] >= device["last_seen_at"]

    other = make_customer(store)
    moved = client.post(f"/api/v1/customers/{other.id}/devices", json={"platform": "apns", "token": APNS},
                        headers=token_headers(store, other.id))
    assert moved.status_code == 200 and moved.get_json()["device"]["id"] == device["id"]
    db.session.expire_all()
    rows = db.session.scalars(select(CustomerDevice)).all()
    assert [(r.customer_id, r.token) for r in rows] == [(other.id, APNS)]

    # The same token in another store is another device.
    other_store = make_store("other")
    stranger = make_customer(other_store)
    other_key = create_api_key(other_store.id, "storefront").plaintext
    assert client.post(f"/api/v1/customers/{stranger.id}/devices", json={"platform": "apns", "token": APNS},
                       headers={"Authorization": f"Bearer {other_key}"}).status_code == 201
    assert db.session.scalar(select(func.count()).select_from(CustomerDevice)) == 2


@pytest.mark.parametrize("body, message", [
    ({"platform": "gcm", "token": FCM}, "platform"),
    ({"token": FCM}, "platform"),
    ({"platform": "fcm"}, "token"),
    ({"platform": "fcm", "token": "   "}, "token"),
    ({"platform": "fcm", "token": 123}, "token"),
    ({"platform": "fcm", "token": "x" * 513}, "at most 512"),
    ({"platform": "fcm", "token": "has space"}, "fcm push token"),
    ({"platform": "fcm", "token": "a/b"}, "fcm push token"),
    ({"platform": "apns", "token": "not-hex!"}, "apns push token"),
    (["fcm", FCM], "JSON object"),
    ("not json", "JSON object"),
])
def test_device_registration_validation(client, store, customer, api_headers, body, message):
    url = f"/api/v1/customers/{customer.id}/devices"
    if isinstance(body, str):
        response = client.post(url, data=body, headers={**api_headers, "Content-Type": "application/json"})
    else:
        response = client.post(url, json=body, headers=api_headers)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert db.session.scalar(select(func.count()).select_from(CustomerDevice)) == 0


def test_fcm_token_registration_and_delete(client, store, customer, api_headers):
    url = f"/api/v1/customers/{customer.id}/devices"
    assert client.post(url, json={"platform": "fcm", "token": FCM}, headers=api_headers).status_code == 201
    other = make_customer(store)
    # Another customer cannot remove it; the answer is the same either way.
    assert client.delete(f"/api/v1/customers/{other.id}/devices/{FCM}", headers=api_headers).status_code == 204
    assert db.session.scalar(select(func.count()).select_from(CustomerDevice)) == 1
    for _ in range(2):
        assert client.delete(f"{url}/{FCM}", headers=api_headers).status_code == 204
    assert db.session.scalar(select(func.count()).select_from(CustomerDevice)) == 0


# --- CORS -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/inbox", "/inbox/1/read", "/inbox/read-all", "/devices", "/devices/tok"])
def test_cors_preflight(client, store, customer, path):
    response = client.options(f"/api/v1/customers/{customer.id}{path}", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-store"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-store"} <= allowed
    assert {"GET", "POST", "DELETE"} <= {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_errors_carry_cors_headers_too(client, store, customer):
    response = client.get(f"/api/v1/customers/{customer.id}/inbox")
    assert response.status_code == 401 and response.headers["Access-Control-Allow-Origin"] == "*"


# --- end to end -------------------------------------------------------------------------------

def test_shopify_webhook_lands_in_the_customers_inbox(client, store, api_headers):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("in_app",))
    configure_provider(store.id, "in_app", "inbox", {})
    payload = shopify_order(cancelled_at="2008-01-10T12:00:00-05:00", updated_at="2008-01-10T12:00:00-05:00")
    for _ in range(2):
        assert post_shopify(client, store, "orders/cancelled", payload, webhook_id="wh-1").status_code == 200
    run_worker()

    [row] = notifications(store.id)
    assert (row.channel, row.status, row.provider) == ("in_app", "sent", "inbox")
    customer = db.session.scalar(select(Customer).where(Customer.store_id == store.id))
    assert row.recipient == f"customer:{customer.id}"

    feed = client.get(f"/api/v1/customers/{customer.id}/inbox", headers=token_headers(store, customer.id)).get_json()
    assert feed["unread_count"] == 1
    [message] = feed["messages"]
    assert message["title"] == row.subject and "#1001" in message["title"]
    assert "#1001" in message["body"] and message["read"] is False
    assert row.provider_message_id == f"inbox-{message['id']}"
    assert db.session.get(InboxMessage, message["id"]).notification_id == row.id


# --- races ------------------------------------------------------------------------------------

def test_provider_insert_race_answers_the_winners_id_and_keeps_the_callers_work(store, customer, monkeypatch):
    winner = send(customer, key="race")
    real = InboxProvider._existing
    calls = []

    def miss_once(store_id, key):
        calls.append(key)
        return None if len(calls) == 1 else real(store_id, key)

    monkeypatch.setattr(InboxProvider, "_existing", staticmethod(miss_once))
    customer.name = "Renamed by the caller"  # the delivery's own pending work, in the same session
    assert send(customer, key="race") == winner
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).name == "Renamed by the caller"
    assert db.session.scalar(select(func.count()).select_from(InboxMessage)) == 1


def test_device_insert_race_updates_the_winners_row(store, customer):
    from webapp.inbox import feed

    other = make_customer(store)
    feed.register_device(db.session, store.id, other.id, "apns", APNS)

    class FirstLookupMisses:
        def __init__(self, session):
            self.session, self.missed = session, False

        def scalar(self, query):
            if not self.missed:
                self.missed = True
                return None
            return self.session.scalar(query)

        def __getattr__(self, name):
            return getattr(self.session, name)

    result = feed.register_device(FirstLookupMisses(db.session), store.id, customer.id, "apns", APNS)
    assert result.created is False and result.device.customer_id == customer.id
    db.session.expire_all()
    assert [(d.customer_id, d.token) for d in db.session.scalars(select(CustomerDevice))] == [(customer.id, APNS)]
