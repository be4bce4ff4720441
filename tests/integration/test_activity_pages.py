import itertools
import re
from datetime import UTC, datetime, timedelta

from tests.factories import make_customer, make_order, make_store
from webapp.dispatch.models import Notification, NotificationEvent
from webapp.extensions import db

_keys = itertools.count(1)


def notification(store, **fields) -> Notification:
    defaults = {"source": "shopify", "message_type": "order.cancelled", "channel": "email", "priority": "critical",
                "recipient": "a@b.test", "subject": "S", "body": "<p>B</p>", "status": "sent",
                "idempotency_key": f"activity-test-{next(_keys)}"}
    row = Notification(store_id=store.id, **{**defaults, **fields})
    db.session.add(row)
    db.session.commit()
    return row


def shown_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/activity/(\d+)"', html)]


def test_activity_lists_the_stores_notifications_newest_first_and_not_other_stores(client, login_as, store):
    older = notification(store, recipient="first@b.test")
    newer = notification(store, recipient="second@b.test", status="failed", error="provider said no")
    foreign = notification(make_store("rival"), recipient="rival@b.test")
    login_as("support")
    response = client.get("/activity")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert shown_ids(html) == [newer.id, older.id]
    assert "rival@b.test" not in html
    assert "Failed" in html and "provider said no" in html
    assert client.get(f"/activity/{foreign.id}").status_code == 404


def test_each_filter_narrows_the_results(client, login_as, store):
    ana = make_customer(store, name="Ana Souza", email="ana@example.com", phone="+5511987654321")
    bob = make_customer(store, name="Bob Norman", email="bob@hostmail.test", phone="+16135550142")
    order_ana = make_order(store, number="#1001", customer=ana)
    order_bob = make_order(store, number="WC-727", customer=bob, source="woocommerce")
    email = notification(store, order_id=order_ana.id, customer_id=ana.id, recipient=ana.email)
    sms = notification(store, order_id=order_ana.id, customer_id=ana.id, channel="sms", recipient=ana.phone,
                       body="Order #1001 was cancelled.", subject=None)
    failed = notification(store, order_id=order_bob.id, customer_id=bob.id, status="failed", source="woocommerce",
                          message_type="order.delivered", recipient=bob.email)
    old = notification(store, order_id=order_bob.id, customer_id=bob.id, message_type="order.processing",
                       source="woocommerce", recipient=bob.email, created_at=datetime(2024, 5, 3, 23, 59, tzinfo=UTC))
    login_as("owner")

    def ids(query: str) -> set[int]:
        response = client.get(f"/activity?{query}")
        assert response.status_code == 200, query
        return set(shown_ids(response.get_data(as_text=True)))

    assert ids("") == {email.id, sms.id, failed.id, old.id}
    assert ids("status=failed") == {failed.id}
    assert ids("channel=sms") == {sms.id}
    assert ids("message_type=order.delivered") == {failed.id}
    assert ids("source=woocommerce") == {failed.id, old.id}
    assert ids("order_number=%231001") == {email.id, sms.id}
    assert ids("order_number=727") == set()
    assert ids("order_number=WC-727") == {failed.id, old.id}
    assert ids("customer=souza") == {email.id, sms.id}
    assert ids("customer=HOSTMAIL") == {failed.id, old.id}
    assert ids("customer=%2B1+613+555+0142") == {failed.id, old.id}
    assert ids("customer=555") == set()  # phones match whole, not in part
    assert ids("date_from=2024-05-03&date_to=2024-05-03") == {old.id}
    assert ids("date_to=2024-05-02") == set()
    assert ids("channel=email&source=woocommerce&status=sent") == {old.id}


def test_bad_filter_answers_400_with_a_message_naming_the_parameter(client, login_as, store):
    login_as("owner")
    response = client.get("/activity?status=lost")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "status “lost” is not known" in html
    assert 'role="search"' in html  # the whole page, with its filter form, so the user can fix the filter
    htmx = client.get("/activity?date_from=yesterday", headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert "date_from" in htmx.get_data(as_text=True) and "<form" not in htmx.get_data(as_text=True)


def test_older_link_yields_the_next_page_without_overlap(client, login_as, store):
    db.session.add_all(Notification(store_id=store.id, source="shopify", message_type="order.ready", channel="email",
                                    priority="transactional", recipient=f"c{n}@b.test", body="<p>x</p>",
                                    status="sent", idempotency_key=f"page-{n}") for n in range(55))
    db.session.commit()
    login_as("support")
    first = client.get("/activity?channel=email").get_data(as_text=True)
    first_ids = shown_ids(first)
    assert len(first_ids) == 50 and first_ids == sorted(first_ids, reverse=True)
    older = re.search(r'href="(/activity\?[^"]*before=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "channel=email" in older  # the filters carry over to the next page
    second_ids = shown_ids(client.get(older).get_data(as_text=True))
    assert len(second_ids) == 5
    assert max(second_ids) < min(first_ids)
    assert "Older →" not in client.get(older).get_data(as_text=True)


def test_htmx_filter_request_gets_only_the_results(client, login_as, store):
    notification(store, recipient="only@b.test")
    login_as("marketer")
    response = client.get("/activity?channel=email", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith("<section id=\"results\"") and "only@b.test" in html
    assert "<nav aria-label=\"Main\">" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_detail_shows_reason_timeline_and_exact_content_email_sandboxed_sms_with_segments(client, login_as, store):
    order = make_order(store, number="#2002")
    row = notification(store, order_id=order.id, customer_id=order.customer_id, subject="Your order #2002",
                       body='<p class="x">Hi &amp; bye</p><script>alert(1)</script>',
                       reason="rule: Shopify order Cancelled → email", provider="sandbox",
                       status="failed", error="sendgrid: mailbox does not exist")
    at = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    db.session.add_all([
        NotificationEvent(notification_id=row.id, kind="planned", detail="rule matched", at=at),
        NotificationEvent(notification_id=row.id, kind="queued", detail="on the critical queue",
                          at=at + timedelta(seconds=1)),
        NotificationEvent(notification_id=row.id, kind="attempt", detail="rejected: 550 no such user",
                          provider="sendgrid", at=at + timedelta(seconds=2)),
        NotificationEvent(notification_id=row.id, kind="failed", detail="sendgrid: mailbox does not exist",
                          at=at + timedelta(seconds=3)),
    ])
    db.session.commit()
    login_as("support")
    html = client.get(f"/activity/{row.id}").get_data(as_text=True)
    assert "rule: Shopify order Cancelled → email" in html
    for text in ("Planned", "Queued", "Attempt", "rejected: 550 no such user", "sendgrid", "Failed"):
        assert text in html
    assert html.index("Planned") < html.index("Queued") < html.index("rejected: 550")
    assert "Your order #2002" in html
    assert f'href="/orders/{order.id}"' in html
    iframe = re.search(r"<iframe[^>]*>", html).group(0)
    assert re.search(r"\ssandbox[\s>=]", iframe) and "allow-scripts" not in iframe
    assert 'srcdoc="&lt;p class=&#34;x&#34;&gt;Hi &amp;amp; bye&lt;/p&gt;&lt;script&gt;' in iframe
    assert "<script>alert(1)</script>" not in html  # not in the page itself, nor in "view source"
    assert "<details" in html and "View HTML source" in html

    sms = notification(store, channel="sms", recipient="+14155550100", subject=None, body="Ação " + "x" * 70)
    html = client.get(f"/activity/{sms.id}").get_data(as_text=True)
    assert '<pre class="sms-body">Ação ' in html
    assert "75 characters" in html and "UCS-2" in html and "2 segments" in html
    assert "<iframe" not in html


def test_a_resend_after_a_killed_worker_warns_where_the_provider_cannot_drop_repeats(client, login_as, store):
    login_as("support")
    pages = {}
    for provider in ("twilio", "webhook"):
        row = notification(store, channel="sms", recipient="+14155550100", provider=provider)
        for attempt in (1, 2):
            db.session.add(NotificationEvent(notification_id=row.id, kind="started",
                                             detail=f"attempt {attempt} started on host:{attempt}"))
        db.session.commit()
        pages[provider] = client.get(f"/activity/{row.id}").get_data(as_text=True)
    assert "May have been delivered twice." in pages["twilio"] and "Twilio cannot recognise" in pages["twilio"]
    assert "Attempt started" in pages["twilio"] and "attempt 2 started on host:2" in pages["twilio"]
    assert "May have been delivered twice." not in pages["webhook"]  # it drops a repeated idempotency key
