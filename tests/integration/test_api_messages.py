"""POST /api/v1/messages: a storefront sends a password reset or a GDPR notice to a customer,
through routing, once per idempotency key; refusals are clear and write nothing."""
import pytest
from sqlalchemy import func, select

from tests.factories import make_customer, make_store
from tests.pipeline import notifications, run_worker, sandbox_messages
from webapp.customers.models import Customer
from webapp.dispatch.models import Notification
from webapp.events.api_keys import create_api_key
from webapp.extensions import db
from webapp.notifications.route_store import save_route

RESET = {"type": "password_reset", "customer": {"email": "Ana@Example.com", "name": "Ana Souza", "locale": "pt-BR"},
         "data": {"reset_url": "https://shop.example.com/reset/abc123"}, "idempotency_key": "reset-ana-1"}


@pytest.fixture
def auth(store):
    return {"Authorization": f"Bearer {create_api_key(store.id, 'storefront').plaintext}"}


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_password_reset_is_sent_to_a_new_customer_and_a_repeat_answers_the_same(client, store, auth):
    first = client.post("/api/v1/messages", json=RESET, headers=auth)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    [row] = body["notifications"]
    assert body["notification_ids"] == [row["id"]]
    assert (row["channel"], row["status"], row["message_type"], row["priority"]) == (
        "email", "pending", "account.password_reset", "critical")
    assert row["error"] is None and "routing: all of email" in row["reason"]
    customer = db.session.get(Customer, body["customer_id"])
    assert (customer.email, customer.name, customer.locale) == ("ana@example.com", "Ana Souza", "pt-BR")

    again = client.post("/api/v1/messages", json=RESET, headers=auth)
    assert again.status_code == 200 and again.get_json()["notification_ids"] == body["notification_ids"]
    run_worker()
    [email] = sandbox_messages(store.id)
    assert "https://shop.example.com/reset/abc123" in email.body and email.recipient == "ana@example.com"
    assert count(Notification) == 1 and count(Customer) == 1


def test_header_key_nested_data_and_a_customer_found_by_id(client, store, auth):
    known = make_customer(store, email="zoe@example.com", phone="+14155550100")
    body = {"type": "account.password_reset", "customer": {"id": known.id},
            "data": {"reset": {"url": "https://x.example/r/1", "expires_minutes": 15}}}
    response = client.post("/api/v1/messages", json=body, headers={**auth, "Idempotency-Key": "hdr-1"})
    assert response.status_code == 201 and response.get_json()["customer_id"] == known.id
    [row] = notifications(store.id)
    assert "https://x.example/r/1" in row.body and "15" in row.body


def test_customer_found_by_external_id_then_email(client, store, auth):
    first = client.post("/api/v1/messages", headers=auth, json={
        **RESET, "customer": {"external_id": "crm-7", "email": "ana@example.com"}, "idempotency_key": "a"})
    by_ext = client.post("/api/v1/messages", headers=auth, json={
        **RESET, "customer": {"external_id": "crm-7"}, "idempotency_key": "b"})
    by_email = client.post("/api/v1/messages", headers=auth, json={
        **RESET, "customer": {"email": "ANA@example.com"}, "idempotency_key": "c"})
    ids = {r.get_json()["customer_id"] for r in (first, by_ext, by_email)}
    assert len(ids) == 1 and count(Customer) == 1
    assert db.session.get(Customer, ids.pop()).external_ids == {"api": "crm-7"}


def test_messages_follow_the_stores_routing(client, store, auth):
    save_route(store, None, "payment.failed", "first", ["sms", "email"])
    response = client.post("/api/v1/messages", headers=auth, json={
        "type": "payment_failed", "customer": {"email": "bo@example.com", "phone": "+14155550100"},
        "data": {"order_number": "#77", "payment_amount": "12.00", "payment_reason": "Card expired"},
        "idempotency_key": "pf-1"})
    [row] = response.get_json()["notifications"]
    assert row["channel"] == "sms"
    gdpr = client.post("/api/v1/messages", headers=auth, json={
        "type": "gdpr_export_ready", "customer": {"email": "bo@example.com"},
        "data": {"gdpr_download_url": "https://shop.example.com/x", "gdpr_expires_days": 7}, "idempotency_key": "g1"})
    assert [n["channel"] for n in gdpr.get_json()["notifications"]] == ["email"]


@pytest.mark.parametrize(("changes", "status", "field"), [
    ({"type": "order.cancelled"}, 422, "type"),
    ({"type": "order_ready"}, 400, "type"),
    ({"customer": {"name": "Nobody"}}, 422, "customer"),
    ({"customer": {"external_id": "unknown-1"}}, 422, "customer"),
    ({"customer": {"id": 999999}}, 404, "customer.id"),
    ({"data": {"reset_link": "https://x"}}, 400, "data.reset_link"),
    ({"data": {}}, 422, "data.reset_url"),
    ({"idempotency_key": None}, 400, "idempotency_key"),
])
def test_refusals_name_the_problem_and_write_nothing(client, store, auth, changes, status, field):
    response = client.post("/api/v1/messages", json={**RESET, **changes}, headers=auth)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["field"] == field and response.get_json()["error"]
    assert count(Notification) == 0 and count(Customer) == 0


def test_malformed_bodies_and_missing_keys(client, store, auth):
    assert client.post("/api/v1/messages", data=b"{nope", headers={**auth, "Content-Type": "application/json"}
                       ).status_code == 400
    assert client.post("/api/v1/messages", json=[1], headers=auth).status_code == 400
    assert client.post("/api/v1/messages", json=RESET).status_code == 401
    first = client.post("/api/v1/messages", json=RESET, headers=auth)
    other_type = client.post("/api/v1/messages", headers=auth, json={
        **RESET, "type": "gdpr_erasure_done", "data": {}})
    assert first.status_code == 201 and other_type.status_code == 422
    assert other_type.get_json()["field"] == "idempotency_key" and count(Notification) == 1


def test_scoped_to_the_key_store(client, store, auth):
    other = make_store("other-shop")
    theirs = make_customer(other, email="ana@example.com")
    by_id = client.post("/api/v1/messages", json={**RESET, "customer": {"id": theirs.id}}, headers=auth)
    assert by_id.status_code == 404
    mine = client.post("/api/v1/messages", json=RESET, headers=auth)  # same email: a customer of this store
    assert mine.status_code == 201 and mine.get_json()["customer_id"] != theirs.id
    other_auth = {"Authorization": f"Bearer {create_api_key(other.id, 'theirs').plaintext}"}
    theirs_answer = client.post("/api/v1/messages", json=RESET, headers=other_auth)
    assert theirs_answer.status_code == 201 and theirs_answer.get_json()["customer_id"] == theirs.id
    assert theirs_answer.get_json()["notification_ids"] != mine.get_json()["notification_ids"]
