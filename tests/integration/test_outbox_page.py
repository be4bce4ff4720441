import itertools
import re

from tests.factories import make_store
from webapp.channels.models import SandboxMessage
from webapp.dispatch.models import Notification
from webapp.extensions import db

_keys = itertools.count(1)


def sandbox_message(store, **fields) -> SandboxMessage:
    defaults = {"channel": "email", "recipient": "a@b.test", "subject": "Your order", "body": "<p>Hello</p>",
                "idempotency_key": f"outbox-test-{next(_keys)}"}
    row = SandboxMessage(store_id=store.id, **{**defaults, **fields})
    db.session.add(row)
    db.session.commit()
    return row


def listed_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/outbox/(\d+)', html)]


def test_outbox_lists_only_the_stores_sandbox_messages_newest_first(client, login_as, store):
    email = sandbox_message(store, recipient="ana@example.com", subject="Order #1001 cancelled")
    sms = sandbox_message(store, channel="sms", recipient="+14155550100", subject=None,
                          body="Demo Outfitters: your order #1001 is ready for pickup.")
    foreign = sandbox_message(make_store("rival"), recipient="rival@b.test", subject="Rival secret")
    login_as("support")
    response = client.get("/outbox")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert listed_ids(html) == [sms.id, email.id]
    assert "Order #1001 cancelled" in html and "your order #1001 is ready" in html
    assert "rival@b.test" not in html and "Rival secret" not in html
    assert "records messages here instead of sending them" in html
    assert client.get(f"/outbox/{foreign.id}").status_code == 404
    assert client.get(f"/outbox/{foreign.id}", headers={"HX-Request": "true"}).status_code == 404


def test_outbox_detail_shows_email_sandboxed_sms_as_text_and_links_to_the_notification(client, login_as, store):
    sent = Notification(store_id=store.id, source="shopify", message_type="order.ready", channel="email",
                        priority="transactional", recipient="ana@example.com", body="<p>Ready</p>", status="sent",
                        idempotency_key="outbox-notification")
    db.session.add(sent)
    db.session.commit()
    message = sandbox_message(store, notification_id=sent.id, body='<p>Ready</p><script>alert("x")</script>')
    login_as("marketer")
    html = client.get(f"/outbox/{message.id}").get_data(as_text=True)
    iframe = re.search(r"<iframe[^>]*>", html).group(0)
    assert re.search(r"\ssandbox[\s>=]", iframe) and "allow-scripts" not in iframe
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in iframe
    assert "<script>alert" not in html
    assert f'href="/activity/{sent.id}"' in html
    assert 'aria-current="true"' in html  # the open message is marked in the list

    partial = client.get(f"/outbox/{message.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<section id="message"') and "<nav" not in partial

    sms = sandbox_message(store, channel="sms", recipient="+14155550100", subject=None, body="x" * 161)
    html = client.get(f"/outbox/{sms.id}").get_data(as_text=True)
    assert '<pre class="sms-body">' + "x" * 161 in html
    assert "161 characters" in html and "GSM-7" in html and "2 segments" in html


def test_outbox_older_link_pages_without_overlap_and_bad_cursor_is_400(client, login_as, store):
    db.session.add_all(SandboxMessage(store_id=store.id, channel="email", recipient=f"c{n}@b.test", subject=f"S{n}",
                                      body="<p>x</p>", idempotency_key=f"outbox-page-{n}") for n in range(53))
    db.session.commit()
    login_as("support")
    first = client.get("/outbox").get_data(as_text=True)
    first_ids = listed_ids(first)
    assert len(first_ids) == 50
    older = re.search(r'href="(/outbox\?before=\d+)"', first).group(1)
    second_ids = listed_ids(client.get(older).get_data(as_text=True))
    assert len(second_ids) == 3 and max(second_ids) < min(first_ids)
    bad = client.get("/outbox?before=yesterday")
    assert bad.status_code == 400 and "“before” must be a whole number" in bad.get_data(as_text=True)
