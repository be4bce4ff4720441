"""GDPR: a customer's data export (built by a job; the customer is sent the download link) and
erasure, after which none of their emails, phones or names is in any text or JSON column of the
database, while another customer's data and the erased customer's aggregates stay."""
from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import JSON, String, func, select, update
from sqlalchemy.types import TypeDecorator

from tests.factories import make_customer, make_store, make_user
from tests.pipeline import FIXTURES, connect_sources, post_shopify, run_worker, set_rule
from webapp.audit.models import AuditEntry, record
from webapp.campaigns.models import Campaign, CampaignRecipient
from webapp.campaigns.segment_store import create_segment
from webapp.channels.models import SandboxMessage
from webapp.channels.providers.base import OutboundMessage
from webapp.channels.providers.inbox import InboxProvider
from webapp.consent.models import BOUNCE, OPT_OUT, ChannelSuppression
from webapp.consent.state import set_consent
from webapp.consent.suppression import suppress
from webapp.customers import gdpr
from webapp.customers.export_links import ExportLinks
from webapp.customers.models import Customer, CustomerDevice, CustomerImport, GdprRequest
from webapp.customers.redaction import phone_forms
from webapp.dispatch.models import PENDING, EscalationAlert, Notification
from webapp.dispatch.queueing import queue
from webapp.events.api_keys import create_api_key
from webapp.events.models import IdempotentResponse, InboundEvent
from webapp.extensions import db
from webapp.notifications.manual import resend
from webapp.orders.models import Order, OrderStatusChange
from webapp.pipeline import erasure
from webapp.pipeline.gdpr import JOB_QUEUE, request_erasure, request_export
from webapp.promotions import promotion_store
from webapp.promotions.models import Checkout, CouponRedemption, GiftCard
from webapp.timeutil import utcnow

BOB = {"email": "bob.norman@hostmail.com", "phone": "+15556251199", "raw_phone": "555-625-1199",
       "name": "Bob Norman"}
ALICE = {"email": "alice.liddell@wonder.example", "phone": "+14155550123", "raw_phone": "415-555-0123",
         "name": "Alice Liddell"}
CANCELLED = "2008-01-10T12:00:00-05:00"


def order_of(person: dict, order_id: int, number: int) -> dict:
    """The Shopify fixture as this person's order: their email, names and phone everywhere."""
    text = (FIXTURES / "shopify/order.json").read_text()
    first, last = person["name"].split()
    for old, new in (("bob.norman@hostmail.com", person["email"]), ("555-625-1199", person["raw_phone"]),
                     ("Bob", first), ("Norman", last)):
        text = text.replace(old, new)
    order = json.loads(text)["order"]
    order.update(id=order_id, name=f"#{number}", order_number=number, cancelled_at=CANCELLED, updated_at=CANCELLED)
    return order


def ingest_orders(client, store, person: dict, ids: range) -> Customer:
    for order_id in ids:
        response = post_shopify(client, store, "orders/cancelled", order_of(person, order_id, 1001 + order_id % 1000),
                                f"wh-{order_id}")
        assert response.status_code == 200
    run_worker()
    return db.session.scalar(select(Customer).where(Customer.store_id == store.id, Customer.email == person["email"]))


def owner_of(store):
    return make_user(store, "owner")


def export_for(store, customer, user=None) -> GdprRequest:
    made = request_export(store, customer, user)
    run_worker()
    db.session.expire_all()
    return db.session.get(GdprRequest, made.id)


def give_bob_everything(client, store, owner) -> Customer:
    """Bob as a busy store knows him: orders from real webhooks, messages delivered by a real worker, an
    export, consent evidence, a STOP, a device, an inbox message, staff actions quoting him, a hard bounce
    quoting his address, an import."""
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("email", "sms"))
    bob = ingest_orders(client, store, BOB, range(450789469, 450789472))
    assert bob is not None and bob.name == BOB["name"] and bob.phone == BOB["phone"]
    export_for(store, bob)
    set_consent(bob, "email", "opted_in", "checkout", actor="customer", ip="203.0.113.9",
                user_agent="Mozilla/5.0 (Bob's iPhone)", detail=f"ticked the box as {BOB['email']}")
    suppress(store.id, "sms", BOB["phone"], OPT_OUT, "opted out (STOP)", "twilio inbound SMS", detail="STOP",
             customer_id=bob.id)
    db.session.add(CustomerDevice(store_id=store.id, customer_id=bob.id, platform="fcm", token="fcm-bob-pixel-7"))
    db.session.commit()
    InboxProvider().send(OutboundMessage(0, store.id, "in_app", f"customer:{bob.id}", "Hi Bob",
                                         "Bob Norman, your refund is on its way", "inbox-bob-1"))
    first = db.session.scalar(select(Notification).where(Notification.customer_id == bob.id,
                                                         Notification.channel == "email").order_by(Notification.id))
    resend(store, first, owner, "Bob called: the first one went to spam")  # audit: new={"recipient": email}
    run_worker()
    # Then his mailbox is gone: a hard bounce whose reason quotes the address, as providers' do.
    suppress(store.id, "email", BOB["email"], BOUNCE, f"bounced: 550 5.1.1 <{BOB['email']}> user unknown",
             "postmark event", detail=f"The server responded: 550 5.1.1 <{BOB['email']}> user unknown",
             customer_id=bob.id)
    change = db.session.scalar(select(OrderStatusChange).where(OrderStatusChange.order_id == first.order_id))
    change.note = "Bob asked to leave it with the neighbour"
    record(store.id, owner.id, "template.test_sent", "order.cancelled · sms · en",
           new={"to": "+1 555-625-1199", "through": "Sandbox"}, reason="checking the SMS for Bob Norman")
    db.session.add_all([
        CustomerImport(store_id=store.id, filename="crm.csv", status="previewed", total_rows=2,
                       content=f"email,name,phone\n{BOB['email']},{BOB['name']},{BOB['raw_phone']}\n"
                               f"{ALICE['email']},{ALICE['name']},{ALICE['raw_phone']}\n",
                       errors=[{"line": 2, "error": f"phone {BOB['raw_phone']} has no country"}]),
        IdempotentResponse(store_id=store.id, key="crm-sync-1", request_hash="0" * 64, status_code=200,
                           body={"id": bob.id, "email": BOB["email"], "name": BOB["name"]}),
        EscalationAlert(store_id=store.id, group_key="g" * 16, channel="sms", cause="SMS failed on every provider",
                        status="sent", count=1, samples=[{"notification_id": first.id, "order_id": first.order_id,
                                                          "recipient": BOB["phone"], "error": "unreachable"}]),
        InboundEvent(store_id=store.id, source="shopify", topic="customers/update", dedupe_key="wh-customer-1",
                     outcome="ignored", payload={"customer": {"email": BOB["email"], "first_name": "Bob",
                                                             "last_name": "Norman", "phone": BOB["raw_phone"]}}),
        SandboxMessage(store_id=store.id, channel="email", recipient=BOB["email"], subject="[Test] Order cancelled",
                       body="Hello Bob Norman", idempotency_key="test-send-1"),
    ])
    db.session.commit()
    _give_bob_a_gift_card_and_a_coupon(store, bob)
    return bob


def _give_bob_a_gift_card_and_a_coupon(store, bob) -> None:
    """A gift card for Bob with a message naming him, and a once-per-customer coupon he used."""
    db.session.add(GiftCard(store_id=store.id, code="GIFT-0001-XYZW", code_key="gift-0001-xyzw", currency="USD",
                            value_minor=2500, balance_minor=2500, recipient_email=BOB["email"], customer_id=bob.id,
                            message="For Bob Norman, happy birthday"))
    promotion, _ = promotion_store.create_promotion(store, {"name": "Welcome", "conditions": [{"type": "coupon"}],
                                                            "actions": [{"type": "fixed_off_cart", "amount": "1.00"}]})
    request, _ = promotion_store.parse_coupon_request({"code": "ONCE", "once_per_customer": True})
    coupon = promotion_store.add_coupons(promotion, request)[0][0]
    checkout = Checkout(store_id=store.id, number="G-1", currency="USD", priced={}, customer_id=bob.id)
    db.session.add(checkout)
    db.session.flush()
    db.session.add(CouponRedemption(coupon_id=coupon.id, checkout_id=checkout.id, once_key=BOB["email"]))
    db.session.commit()


def needles(person: dict) -> set[str]:
    return {person["email"], person["name"], *person["name"].split(), person["raw_phone"],
            *phone_forms(person["phone"])}


def text_columns():
    """Every String, Text or JSON column of every table (custom types by what they store)."""
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
            if isinstance(kind, String | JSON):  # Text is a String
                yield table, column


def mentions(person: dict) -> list[tuple[str, str, str]]:
    """(table, column, what) for every value in the database that contains one of the person's needles."""
    found = []
    wanted = {n.casefold() for n in needles(person)}
    with db.engine.connect() as conn:
        for table, column in text_columns():
            for (value,) in conn.execute(select(column).where(column.is_not(None))):
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                found += [(table.name, column.name, n) for n in wanted if n in text.casefold()]
    return sorted(set(found))


def erase(store, customer, owner) -> GdprRequest:
    made = request_erasure(store, customer, owner, "Bob Norman asked by email to be forgotten")
    run_worker()
    db.session.expire_all()
    return db.session.get(GdprRequest, made.id)


def test_erasure_leaves_no_email_phone_or_name_of_the_customer_in_any_text_or_json_column(client, store):
    owner = owner_of(store)
    bob = give_bob_everything(client, store, owner)
    alice = ingest_orders(client, store, ALICE, range(7000, 7001))
    assert {t for t, _, _ in mentions(BOB)} >= {"customers", "notifications", "inbound_events", "consent_events",
                                                 "audit_entries", "gdpr_requests", "customer_imports",
                                                 "sandbox_messages", "inbox_messages", "channel_suppressions"}
    sent_before = db.session.scalar(select(func.count()).select_from(Notification)
                                    .where(Notification.customer_id == bob.id))

    done = erase(store, bob, owner)

    assert (done.status, done.error) == ("done", None)
    assert mentions(BOB) == []
    # The other customer is untouched, in every place Bob was.
    assert {t for t, _, _ in mentions(ALICE)} >= {"customers", "notifications", "inbound_events", "sandbox_messages",
                                                   "customer_imports"}
    alice = db.session.get(Customer, alice.id)
    assert (alice.email, alice.name, alice.erased_at) == (ALICE["email"], ALICE["name"], None)
    # What counts stays: the orders with their totals, the messages with their statuses.
    bob = db.session.get(Customer, bob.id)
    assert bob.name == gdpr.ERASED_NAME and bob.email is None and bob.erased_at is not None
    orders = db.session.scalars(select(Order).where(Order.customer_id == bob.id)).all()
    assert [(o.status, o.total) for o in orders] == [("cancelled", Decimal("409.94"))] * 3
    rows = db.session.scalars(select(Notification).where(Notification.customer_id == bob.id)).all()
    assert len(rows) == sent_before and {n.status for n in rows} == {"sent"}
    assert {n.recipient for n in rows} == {"erased"} and {n.body for n in rows} == {""}
    # One audit entry says it happened, naming only the customer's id.
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erased")).all()
    assert entry.target == f"Customer #{bob.id}" and entry.user_id == owner.id
    assert entry.new == {"request": done.id, "orders": 3, "notifications": sent_before}
    # The STOP still stands for the number and the bounce for the email, kept as digests; the bounce's
    # reason no longer quotes the address.
    kept = db.session.scalars(select(ChannelSuppression).where(ChannelSuppression.store_id == store.id)
                              .order_by(ChannelSuppression.channel)).all()
    assert [(s.channel, s.address, s.reason) for s in kept] == [
        ("email", gdpr.erased_address(store.id, "email", BOB["email"]), "bounced: 550 5.1.1 <[erased]> user unknown"),
        ("sms", gdpr.erased_address(store.id, "sms", BOB["phone"]), "opted out (STOP)")]
    assert db.session.scalar(select(func.count()).select_from(CustomerDevice)) == 0


def test_export_json_holds_the_customers_profile_consent_orders_messages_and_inbox(client, store):
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("email", "sms"))
    bob = ingest_orders(client, store, BOB, range(1, 3))
    set_consent(bob, "sms", "opted_in", "checkout", ip="203.0.113.9", user_agent="Mozilla/5.0")
    db.session.add(CustomerDevice(store_id=store.id, customer_id=bob.id, platform="apns", token="a" * 64))
    db.session.commit()
    InboxProvider().send(OutboundMessage(0, store.id, "in_app", f"customer:{bob.id}", "Hi", "Refunded", "ibx-1"))

    made = export_for(store, bob)

    assert made.status == "done"
    data = made.result
    assert data["customer"] | {"devices": None} == data["customer"] | {
        "id": bob.id, "name": BOB["name"], "email": BOB["email"], "phone": BOB["phone"], "devices": None}
    assert data["customer"]["devices"][0]["platform"] == "apns"
    assert data["consent"] == {"sms": "opted_in"}
    assert [(e["channel"], e["action"], e["ip"]) for e in data["consent_history"]] == [("sms", "opt_in", "203.0.113.9")]
    assert [(o["number"], o["status"], o["total"]) for o in data["orders"]] == [
        ("#1002", "cancelled", "409.94"), ("#1003", "cancelled", "409.94")]
    assert data["orders"][0]["history"][0]["to"] == "cancelled"
    assert len(data["notifications"]) == 4 and all(n["body"] for n in data["notifications"])
    assert {n["recipient"] for n in data["notifications"]} == {BOB["email"], BOB["phone"]}
    assert [m["body"] for m in data["inbox"]] == ["Refunded"]


def test_export_job_sends_the_customer_the_gdpr_export_ready_message_with_a_link_that_needs_no_login(client, store):
    bob = make_customer(store, name=BOB["name"], email=BOB["email"])
    made = export_for(store, bob)
    [ready] = db.session.scalars(select(Notification).where(Notification.message_type == "gdpr.export_ready")).all()
    assert (ready.customer_id, ready.channel, ready.recipient, ready.priority, ready.status) == (
        bob.id, "email", BOB["email"], "critical", "sent")
    links = ExportLinks("test-secret")
    url = links.url(store.id, made.id, made.finished_at)
    assert url in ready.body

    response = client.get(url.split("5000", 1)[1])  # nobody is signed in
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="data-export-{made.id}.json"'
    assert response.get_json() == made.result

    token = url.rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get(f"/gdpr/download/{tampered}").status_code == 404
    forged = ExportLinks("another-secret").token(store.id, made.id, made.finished_at)
    assert client.get(f"/gdpr/download/{forged}").status_code == 404
    stale = links.token(store.id, made.id, made.finished_at - timedelta(days=8))
    assert client.get(f"/gdpr/download/{stale}").status_code == 410


def test_a_new_export_deletes_the_previous_one_and_an_erasure_deletes_all(client, store):
    owner = owner_of(store)
    bob = make_customer(store, name=BOB["name"], email=BOB["email"])
    first, second = export_for(store, bob), export_for(store, bob)
    db.session.refresh(first)
    assert first.result is None and second.result["customer"]["email"] == BOB["email"]
    token = ExportLinks("test-secret").token(store.id, second.id, second.finished_at)
    erase(store, bob, owner)
    db.session.refresh(second)
    assert second.result is None
    assert client.get(f"/gdpr/download/{token}").status_code == 410


def test_messages_still_waiting_are_not_sent_after_the_erasure(store):
    owner = owner_of(store)
    bob = make_customer(store, name=BOB["name"], email=BOB["email"])
    db.session.add(Notification(store_id=store.id, customer_id=bob.id, source="api", message_type="order.cancelled",
                                channel="email", priority="critical", recipient=BOB["email"], body="Hi Bob",
                                status=PENDING, idempotency_key="w" * 64))
    db.session.commit()
    erase(store, bob, owner)
    [row] = db.session.scalars(select(Notification)).all()
    assert (row.status, row.recipient, row.error) == ("skipped", "erased", erasure.CANCELLED)


def test_a_failed_erasure_changes_nothing_and_is_recorded_on_the_request(store, monkeypatch):
    owner = owner_of(store)
    bob = make_customer(store, name=BOB["name"], email=BOB["email"])

    def broken(scope):
        raise RuntimeError(f"disk full while erasing {BOB['email']}")

    monkeypatch.setattr(erasure, "_erase_store_wide", broken)
    done = erase(store, bob, owner)
    assert done.status == "failed" and BOB["email"] not in done.error and "nothing was changed" in done.error
    bob = db.session.get(Customer, bob.id)
    assert (bob.email, bob.erased_at) == (BOB["email"], None)
    assert not db.session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.erased"))


def worker_died(made: GdprRequest, *, asked_ago: timedelta) -> None:
    """A worker took the request (its job is gone from the queue) and died before finishing it."""
    queue(JOB_QUEUE).empty()
    assert gdpr.start(made.id, made.kind) is not None
    db.session.execute(update(GdprRequest).where(GdprRequest.id == made.id)
                       .values(created_at=utcnow() - asked_ago))
    db.session.commit()


def test_an_erasure_whose_worker_died_runs_when_asked_again(client, login_as, store):
    owner = owner_of(store)
    bob = make_customer(store, name=BOB["name"], email=BOB["email"])
    made = request_erasure(store, bob, owner, "asked by email")
    worker_died(made, asked_ago=timedelta(days=1))
    run_worker()  # nothing left in the queue to finish it
    db.session.expire_all()
    assert db.session.get(GdprRequest, made.id).status == "running"

    login_as("owner")
    response = client.post(f"/customers/{bob.id}/gdpr/erase", data={"csrf_token": client.csrf,
                                                                     "confirmation": "ERASE", "reason": "asked again"})
    assert response.status_code == 303
    [again] = db.session.scalars(select(GdprRequest)).all()  # the same request, not a second one beside it
    assert (again.id, again.status) == (made.id, "queued")
    run_worker()
    db.session.expire_all()
    assert db.session.get(GdprRequest, made.id).status == "done"
    assert db.session.get(Customer, bob.id).erased_at is not None
    asked = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erasure_requested")
                               .order_by(AuditEntry.id)).all()
    assert [(e.new.get("resumed"), e.reason) for e in asked] == [(None, "asked by email"), (True, "asked again")]


def test_an_export_running_within_the_jobs_time_is_left_to_its_job_and_asking_again_makes_a_new_one(
        client, store, api_headers):
    bob = make_customer(store, name=BOB["name"], email=BOB["email"])
    made = request_export(store, bob, None)
    worker_died(made, asked_ago=timedelta(minutes=5))  # or is still working on it: nobody can tell yet
    assert gdpr.start(made.id, gdpr.EXPORT) is None
    response = client.post(f"/api/v1/customers/{bob.id}/export", headers=api_headers)
    assert response.status_code == 202 and response.get_json()["request_id"] != made.id
    run_worker()
    db.session.expire_all()
    assert db.session.get(GdprRequest, made.id).status == "running"


def test_a_requeued_job_retakes_a_running_request_once_it_outlived_the_jobs_time(store):
    bob = make_customer(store, name=BOB["name"], email=BOB["email"])
    made = request_export(store, bob, None)
    worker_died(made, asked_ago=timedelta(days=1))
    queue(JOB_QUEUE).enqueue("jobs.gdpr.run_export", made.id, job_id=f"gdpr-{made.id}")  # e.g. by an operator
    run_worker()
    db.session.expire_all()
    done = db.session.get(GdprRequest, made.id)
    assert done.status == "done" and done.result["customer"]["email"] == BOB["email"]


def test_erasing_a_customer_with_hundreds_of_orders_is_quick(store):
    owner = owner_of(store)
    bob = make_customer(store, name=BOB["name"], email=BOB["email"], phone=BOB["phone"])
    orders = [Order(store_id=store.id, source="shopify", external_id=str(n), number=f"#{n}", customer_id=bob.id,
                    status="delivered", total=Decimal("12.50")) for n in range(400)]
    db.session.add_all(orders)
    db.session.flush()
    db.session.add_all(InboundEvent(store_id=store.id, source="shopify", topic="orders/paid", dedupe_key=f"d{o.id}",
                                    order_id=o.id, payload={"email": BOB["email"], "phone": BOB["raw_phone"]})
                       for o in orders)
    db.session.add_all(Notification(store_id=store.id, order_id=o.id, customer_id=bob.id, source="shopify",
                                    message_type="order.delivered", channel=channel, priority="transactional",
                                    recipient=BOB["email"] if channel == "email" else BOB["phone"],
                                    body=f"Hi Bob Norman, order {o.number}", status="sent", reason="rule",
                                    idempotency_key=f"{o.id}-{channel}".ljust(64, "x"))
                       for o in orders for channel in ("email", "sms"))
    db.session.commit()
    started = time.monotonic()
    done = erase(store, bob, owner)
    assert done.status == "done" and time.monotonic() - started < 10
    assert mentions(BOB) == []
    assert db.session.scalar(select(func.sum(Order.total)).where(Order.customer_id == bob.id)) == Decimal("5000.00")


# --- the dashboard ---------------------------------------------------------------------------------

def test_marketers_cannot_export_or_erase_and_support_may_export_but_not_erase(client, login_as, store):
    bob = make_customer(store, name=BOB["name"], email=BOB["email"])
    login_as("marketer")
    assert client.post(f"/customers/{bob.id}/gdpr/export", data={"csrf_token": client.csrf}).status_code == 403
    assert client.post(f"/customers/{bob.id}/gdpr/erase", data={"csrf_token": client.csrf, "confirmation": "ERASE",
                                                               "reason": "asked"}).status_code == 403
    assert client.get(f"/customers/{bob.id}/gdpr").status_code == 403
    client.post("/logout", data={"csrf_token": client.csrf})
    login_as("support")
    assert client.post(f"/customers/{bob.id}/gdpr/erase", data={"csrf_token": client.csrf, "confirmation": "ERASE",
                                                               "reason": "asked"}).status_code == 403
    response = client.post(f"/customers/{bob.id}/gdpr/export", data={"csrf_token": client.csrf})
    assert response.status_code == 303
    assert [r.kind for r in db.session.scalars(select(GdprRequest))] == ["export"]
    assert "Data export" in client.get(f"/customers/{bob.id}/gdpr").get_data(as_text=True)
    page = client.get(f"/customers/{bob.id}").get_data(as_text=True)  # the panel on the customer page
    assert f'id="gdpr-{bob.id}"' in page and "Export data" in page and "Erase personal data" not in page
    listed = client.get(f"/customers/{bob.id}/gdpr?part=list", headers={"HX-Request": "true"})
    html = listed.get_data(as_text=True)
    assert "Queued" in html and "every 2s" in html and "<html" not in html  # only the list, polling


def test_owner_erases_from_the_dashboard_after_typing_the_customers_email(client, login_as, store):
    bob = make_customer(store, name=BOB["name"], email=BOB["email"])
    login_as("owner")
    url = f"/customers/{bob.id}/gdpr/erase"
    wrong = client.post(url, data={"csrf_token": client.csrf, "confirmation": "bob", "reason": "asked by email"},
                        headers={"HX-Request": "true"})
    assert wrong.status_code == 400 and "Nothing was erased" in wrong.get_data(as_text=True)
    no_reason = client.post(url, data={"csrf_token": client.csrf, "confirmation": BOB["email"].upper(), "reason": ""})
    assert no_reason.status_code == 400
    assert client.post(url, data={"confirmation": BOB["email"], "reason": "asked"}).status_code == 400  # no CSRF
    assert db.session.scalar(select(func.count()).select_from(GdprRequest)) == 0

    done = client.post(url, data={"csrf_token": client.csrf, "confirmation": BOB["email"], "reason": "asked by email"},
                       headers={"HX-Request": "true"})
    assert done.status_code == 200 and "Erasure requested" in done.get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in done.get_data(as_text=True)  # the list follows the running request
    run_worker()
    db.session.expire_all()
    assert db.session.get(Customer, bob.id).erased_at is not None
    page = client.get(f"/customers/{bob.id}/gdpr").get_data(as_text=True)
    assert "personal data erased" in page and "every 2s" not in page


def test_dashboard_gdpr_pages_of_another_stores_customer_are_404(client, login_as, store):
    other = make_customer(make_store(), name=BOB["name"], email=BOB["email"])
    login_as("owner")
    assert client.get(f"/customers/{other.id}/gdpr").status_code == 404
    assert client.post(f"/customers/{other.id}/gdpr/export", data={"csrf_token": client.csrf}).status_code == 404
    assert client.post(f"/customers/{other.id}/gdpr/erase", data={"csrf_token": client.csrf, "confirmation": "ERASE",
                                                                 "reason": "x"}).status_code == 404


# --- the API ---------------------------------------------------------------------------------------

@pytest.fixture
def api_headers(store):
    return {"Authorization": f"Bearer {create_api_key(store.id, 'crm').plaintext}"}


def test_api_export_then_erase_with_status_and_download_url(client, store, api_headers):
    bob = make_customer(store, name=BOB["name"], email=BOB["email"])
    response = client.post(f"/api/v1/customers/{bob.id}/export", headers=api_headers)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and body["kind"] == "export" and "download_url" not in body
    run_worker()
    status = client.get(body["status_url"].replace("http://localhost", ""), headers=api_headers).get_json()
    assert status["status"] == "done" and status["expires_at"]
    download = client.get(status["download_url"].split("5000", 1)[1])
    assert download.get_json()["customer"]["email"] == BOB["email"]

    assert client.post(f"/api/v1/customers/{bob.id}/erase", headers=api_headers, json={}).status_code == 422
    erased = client.post(f"/api/v1/customers/{bob.id}/erase", headers=api_headers, json={"reason": "asked"})
    assert erased.status_code == 202
    run_worker()
    final = client.get(f"/api/v1/gdpr/{erased.get_json()['request_id']}", headers=api_headers).get_json()
    assert final["status"] == "done" and "download_url" not in final
    assert client.get(f"/api/v1/gdpr/{body['request_id']}", headers=api_headers).get_json().get("download_url") is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.erased"))
    assert entry.user_id is None
    assert client.post(f"/api/v1/customers/{bob.id}/export", headers=api_headers).status_code == 409


def test_api_answers_404_for_another_stores_customer_or_request(client, store, api_headers):
    other_store = make_store()
    other = make_customer(other_store, name=BOB["name"], email=BOB["email"])
    assert client.post(f"/api/v1/customers/{other.id}/export", headers=api_headers).status_code == 404
    assert client.post(f"/api/v1/customers/{other.id}/erase", headers=api_headers,
                       json={"reason": "x"}).status_code == 404
    theirs = request_export(other_store, other, None)
    assert client.get(f"/api/v1/gdpr/{theirs.id}", headers=api_headers).status_code == 404
    assert client.post(f"/api/v1/customers/{other.id}/export").status_code == 401


def test_a_stop_outlives_the_erasure_when_the_same_number_comes_back(store):
    from webapp.consent.suppression import suppress
    from webapp.notifications.send import send_message

    owner = owner_of(store)
    bob = make_customer(store, name=BOB["name"], email=BOB["email"], phone="+16135550142")
    suppress(store.id, "sms", "+16135550142", "opt_out", "opted out (STOP)", "twilio inbound SMS")
    db.session.commit()
    erase(store, bob, owner)
    again = make_customer(store, name="Robert N.", email="robert@example.test", phone="+16135550142")
    rows = send_message(store, again, "payment.failed", key="pf", reason="t", data={"payment": {"amount": "9"}})
    sms = next(row for row in rows if row.channel == "sms")
    assert sms.status == "suppressed" and sms.error.startswith("suppressed: opted out (STOP)")


def test_erasure_clears_the_customer_from_campaigns_and_a_waiting_one_is_never_sent(client, store):
    owner = owner_of(store)
    bob = give_bob_everything(client, store, owner)
    segment, _ = create_segment(store.id, "Everyone", "all", [])
    campaign = Campaign(store_id=store.id, name="Winter", channel="email", segment_id=segment.id,
                        content={"en": {"subject": "Hi", "body": "<p>Hi</p>"}}, status="sending")
    db.session.add(campaign)
    db.session.flush()
    db.session.add(Notification(store_id=store.id, customer_id=bob.id, campaign_id=campaign.id, source="campaign",
                                message_type="campaign.message", channel="email", priority="marketing",
                                recipient=BOB["email"], body=f"Hi {BOB['name']}", status="sent",
                                substitutions={"[[nh:name]]": BOB["name"], "[[nh:email]]": BOB["email"]},
                                idempotency_key="campaign-1-customer-1"))
    db.session.add(CampaignRecipient(campaign_id=campaign.id, customer_id=bob.id, address=BOB["email"],
                                     name=BOB["name"], status="waiting"))
    db.session.commit()

    erase(store, bob, owner)

    assert mentions(BOB) == []
    recipient = db.session.scalar(select(CampaignRecipient).where(CampaignRecipient.customer_id == bob.id))
    assert (recipient.status, recipient.address, recipient.name) == ("excluded", "erased", "")
