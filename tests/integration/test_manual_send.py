"""A support agent sends a notification from an order page, and resends a past one."""
import re
import uuid

from sqlalchemy import select

from tests.factories import make_customer, make_order, make_store
from tests.pipeline import notifications, run_worker, sandbox_messages, set_rule
from webapp.audit.models import AuditEntry
from webapp.extensions import db


def allow_staff_sends(store):
    for status in ("delivered", "ready"):
        set_rule(store, "manual", status, ("email", "sms"))


def send_form(client, order_id: int, **fields) -> dict:
    """The form as the order page renders it, with its one-time send token."""
    html = client.get(f"/orders/{order_id}").get_data(as_text=True)
    token = re.search(r'name="send_token" value="([0-9a-f]{32})"', html).group(1)
    return {"csrf_token": client.csrf, "send_token": token, **fields}


def test_support_sends_a_status_message_with_a_note_and_reason(client, login_as, store):
    allow_staff_sends(store)
    order = make_order(store, status="delivered", number="#7001",
                       customer=make_customer(store, email="ana@example.com", phone="+5511987654321"))
    agent = login_as("support")
    form = send_form(client, order.id, status="delivered", channels=["email", "sms"],
                     note="Left with the concierge.", reason="Customer called: says nothing arrived")
    for _ in range(3):  # a double click and a browser retry send it once
        assert client.post(f"/orders/{order.id}/send", data=form).status_code == 302
    run_worker()
    email, sms = sandbox_messages(store.id)
    assert email.subject == "Order #7001 was delivered" and "Left with the concierge." in email.body
    assert sms.body.endswith("Left with the concierge.")
    assert all(n.priority == "critical" and n.source == "manual" for n in notifications(store.id))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "notification.manual_send"))
    assert entry.user_id == agent.id and entry.reason == "Customer called: says nothing arrived"
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Customer called: says nothing arrived" in page and "Sent" in page


def test_manual_send_without_reason_is_refused_and_sends_nothing(client, login_as, store):
    allow_staff_sends(store)
    order = make_order(store)
    login_as("support")
    response = client.post(f"/orders/{order.id}/send", data=send_form(
        client, order.id, status="delivered", channels=["email"], reason="  "))
    assert response.status_code == 400 and "Give a reason" in response.get_data(as_text=True)
    for bad in ({"status": "exploded", "channels": ["email"]}, {"status": "ready", "channels": ["pigeon"]},
                {"status": "ready"}, {"status": "ready", "channels": ["email"], "send_token": "nope"}):
        response = client.post(f"/orders/{order.id}/send", data={**send_form(client, order.id, reason="r"), **bad})
        assert response.status_code == 400
    assert notifications(store.id) == []


def test_manual_send_follows_the_manual_rule(client, login_as, store):
    set_rule(store, "manual", "ready", ("email",))
    set_rule(store, "manual", "delivered", ("email", "sms"), active=False)
    order = make_order(store)
    login_as("support")
    off = client.post(f"/orders/{order.id}/send", data=send_form(
        client, order.id, status="delivered", channels=["email"], reason="r"))
    assert off.status_code == 400 and "switched off" in off.get_data(as_text=True)
    sms = client.post(f"/orders/{order.id}/send", data=send_form(
        client, order.id, status="ready", channels=["sms"], reason="r"))
    assert sms.status_code == 400 and "does not include sms" in sms.get_data(as_text=True)
    assert notifications(store.id) == []


def test_resend_goes_to_the_customers_current_address_and_is_audited(client, login_as, store):
    customer = make_customer(store, email="old@example.com")
    order = make_order(store, status="ready", customer=customer)
    allow_staff_sends(store)
    login_as("support")
    client.post(f"/orders/{order.id}/send", data=send_form(client, order.id, status="ready", channels=["email"],
                                                           reason="first"))
    run_worker()
    [original] = notifications(store.id)
    customer.email = "new@example.com"
    db.session.commit()
    response = client.post(f"/orders/notifications/{original.id}/resend",
                           data={"csrf_token": client.csrf, "reason": "typo in address fixed"})
    assert response.status_code == 303
    run_worker()
    first, second = sandbox_messages(store.id)[0], sandbox_messages(store.id)[1]
    assert {first.recipient, second.recipient} == {"old@example.com", "new@example.com"}
    assert first.body == second.body
    assert db.session.scalar(select(AuditEntry.reason).where(AuditEntry.action == "notification.resent")) \
        == "typo in address fixed"


def test_marketer_cannot_send_and_other_stores_orders_are_404(client, login_as, store):
    foreign = make_order(make_store("rival"))
    login_as("support")
    token = uuid.uuid4().hex
    response = client.post(f"/orders/{foreign.id}/send", data={"csrf_token": client.csrf, "status": "ready",
                                                               "channels": ["email"], "reason": "r",
                                                               "send_token": token})
    assert response.status_code == 404
    client.post("/logout", data={"csrf_token": client.csrf})
    own = make_order(store)
    login_as("marketer")
    response = client.post(f"/orders/{own.id}/send", data={"csrf_token": client.csrf, "status": "ready",
                                                           "channels": ["email"], "reason": "r", "send_token": token})
    assert response.status_code == 403
    assert notifications(store.id) == []
