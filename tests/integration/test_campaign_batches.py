"""Campaign (marketing) messages go through a provider's batch API when it has one; transactional
ones never do; what a batch leaves unsent carries on from the next provider. Personalised campaign
email (each recipient's name and unsubscribe links) goes as one request per template, and each
recipient receives exactly its own row."""
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.fakes.mailgun import MAILGUN_DOMAIN, MAILGUN_KEY, FakeMailgun
from tests.fakes.providers import SENDGRID_KEY, FakeSendGrid
from tests.pipeline import run_worker
from webapp.channels.accounts import configure_provider
from webapp.channels.providers.base import (
    ConfigField,
    PermanentProviderError,
    ProviderConfigError,
    ProviderSpec,
    SendResult,
)
from webapp.channels.providers.batching import forward
from webapp.channels.providers.registry import providers
from webapp.dispatch.models import Notification
from webapp.dispatch.queueing import enqueue_ids
from webapp.extensions import db


class BatchingProvider:
    """A provider with a batch API that records every call; "bad" recipients are rejected."""

    spec = ProviderSpec("batcher", "Batcher", ("email",), (ConfigField("name", "Name", required=False),),
                        max_batch=3)
    calls: list[tuple[str, list[str]]] = []
    down = False

    def __init__(self, settings=None, secrets=None, base_url=None):
        pass

    def send(self, message):
        self.calls.append(("send", [message.recipient]))
        if message.recipient.startswith("bad"):
            raise PermanentProviderError("invalid address")
        return SendResult(f"one-{message.notification_id}")

    def send_batch(self, messages):
        self.calls.append(("batch", [m.recipient for m in messages]))
        if self.down:
            return [ProviderConfigError("HTTP 401: bad key")] * len(messages)
        return [PermanentProviderError("invalid address") if m.recipient.startswith("bad") else
                SendResult(f"batch-{m.notification_id}") for m in messages]


@pytest.fixture
def batcher(app):
    providers()["batcher"] = BatchingProvider
    BatchingProvider.calls, BatchingProvider.down = [], False
    yield BatchingProvider
    providers().pop("batcher", None)


def queue_rows(store, recipients, priority="marketing") -> list[int]:
    rows = [Notification(store_id=store.id, source="api", message_type="campaign.spring", channel="email",
                         priority=priority, recipient=r, subject="Spring sale", body="20% off",
                         idempotency_key=f"{priority}-{r}") for r in recipients]
    db.session.add_all(rows)
    db.session.commit()
    ids = [row.id for row in rows]
    enqueue_ids(priority, ids)
    return ids


def statuses(ids):
    db.session.expire_all()
    return [(row.status, row.provider, row.provider_message_id)
            for row in db.session.query(Notification).filter(Notification.id.in_(ids)).order_by(Notification.id)]


def test_marketing_rows_go_out_in_batches_of_the_providers_size(app, store, batcher):
    configure_provider(store.id, "email", "batcher", {})
    ids = queue_rows(store, [f"c{i}@example.com" for i in range(5)] + ["bad@example.com"])
    run_worker()
    # The bad address spoiled no one else's send: it alone is retried singly and fails.
    assert [kind for kind, _ in batcher.calls] == ["batch", "batch", "send"]
    assert [len(recipients) for _, recipients in batcher.calls] == [3, 3, 1]
    result = statuses(ids)
    assert result[:5] == [("sent", "batcher", f"batch-{i}") for i in ids[:5]]
    assert result[5][0] == "failed"


def test_a_broken_batch_implementation_does_not_strand_rows(app, store, batcher, monkeypatch):
    configure_provider(store.id, "email", "batcher", {})
    configure_provider(store.id, "email", "sandbox", {})
    monkeypatch.setattr(BatchingProvider, "send_batch", lambda self, messages: [])  # wrong length
    monkeypatch.setattr(BatchingProvider, "send", lambda self, message: 1 / 0)  # and a crash
    ids = queue_rows(store, ["a@example.com", "b@example.com"])
    run_worker()
    assert {status for status, _, _ in statuses(ids)} == {"sent"}
    assert {provider for _, provider, _ in statuses(ids)} == {"sandbox"}


def test_transactional_rows_are_sent_one_by_one(app, store, batcher):
    configure_provider(store.id, "email", "batcher", {})
    queue_rows(store, ["a@example.com", "b@example.com"], priority="transactional")
    run_worker()
    assert [kind for kind, _ in batcher.calls] == ["send", "send"]


def test_a_failed_batch_fails_over_to_the_next_provider_message_by_message(app, store, batcher):
    configure_provider(store.id, "email", "batcher", {})
    configure_provider(store.id, "email", "sandbox", {})
    batcher.down = True
    ids = queue_rows(store, ["a@example.com", "b@example.com"])
    run_worker()
    assert [status for status, provider, _ in statuses(ids)] == ["sent", "sent"]
    assert {provider for _, provider, _ in statuses(ids)} == {"sandbox"}


def test_a_transient_batch_failure_is_retried_as_one_batch(app, store, batcher, monkeypatch):
    from webapp.channels.providers.base import TransientProviderError

    configure_provider(store.id, "email", "batcher", {})
    failures = iter([True])

    def flaky(self, messages):
        self.calls.append(("batch", [m.recipient for m in messages]))
        if next(failures, False):
            return [TransientProviderError("HTTP 503")] * len(messages)
        return [SendResult(f"batch-{m.notification_id}") for m in messages]

    monkeypatch.setattr(BatchingProvider, "send_batch", flaky)
    ids = queue_rows(store, ["a@example.com", "b@example.com", "c@example.com"])
    run_worker()
    assert [(kind, len(r)) for kind, r in batcher.calls] == [("batch", 3), ("batch", 3)]
    assert {status for status, _, _ in statuses(ids)} == {"sent"}


def test_messages_of_their_own_go_one_by_one_where_the_batch_keeps_its_deadline_and_yields(app, store, batcher):
    """Per-recipient content (each email's own unsubscribe link) gains nothing from a batch call; sent
    singly, they pass through the loop that checks the deadline and waiting critical work."""
    configure_provider(store.id, "email", "batcher", {})
    ids = queue_rows(store, [f"c{i}@example.com" for i in range(4)])
    for n, row in enumerate(db.session.query(Notification).filter(Notification.id.in_(ids[:3]))):
        row.body = f"20% off, your link {n}"
    db.session.commit()
    run_worker()
    # The three unique ones singly; the fourth has no twin left in its chunk either.
    assert [kind for kind, _ in batcher.calls] == ["send"] * 4
    assert [status for status, *_ in statuses(ids)] == ["sent"] * 4


# --- personalised campaign email through SendGrid and Mailgun ----------------------------------------

NAME, LINK = "[[nh:name]]", "[[nh:unsubscribe]]"
SUBJECT = f"{NAME}, our spring sale starts now"
BODY = (f"<p>Hi {NAME},</p><p>All week: 20% off everything.</p>"
        f"<p><a href=\"{LINK}\">Unsubscribe</a></p>")
TEXT = f"Hi {NAME},\nAll week: 20% off everything.\nUnsubscribe: {LINK}"
HEADERS = {"List-Unsubscribe": f"<{LINK}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
PEOPLE = ["Ada", "Al", "Bea", "Cy", "Dee"]  # "Al" also occurs in the shared text ("All week")


@pytest.fixture
def sendgrid():
    fake = FakeSendGrid()
    yield fake
    fake.close()


@pytest.fixture
def mailgun():
    fake = FakeMailgun()
    yield fake
    fake.close()


def use_sendgrid(store, fake):
    configure_provider(store.id, "email", "sendgrid", {"api_key": SENDGRID_KEY, "from_email": "news@acme.test"},
                       base_url=fake.url)


def use_mailgun(store, fake):
    configure_provider(store.id, "email", "mailgun", {"domain": MAILGUN_DOMAIN, "api_key": MAILGUN_KEY,
                                                      "from_email": "news@acme.test"}, base_url=fake.url)


def campaign_rows(store, names, headers=HEADERS, values_of=None, campaign="spring") -> list[int]:
    """Rows as the campaign renderer stores them: each the rendering filled with its recipient's
    values (the final content, as sent by providers without a batch API), and those values."""
    rows = []
    for n, name in enumerate(names):
        values = {NAME: name, LINK: f"https://hub.example/u/{store.id}/{n}-t{n * 7919:x}"}
        rows.append(Notification(
            store_id=store.id, source="api", message_type="campaign.spring", channel="email", priority="marketing",
            recipient=f"customer{n}@example.com", subject=forward(SUBJECT, values),
            body=forward(BODY, values), body_text=forward(TEXT, values),
            headers={k: forward(v, values) for k, v in headers.items()} if headers is not None else None,
            substitutions=values_of(n, values) if values_of else values, idempotency_key=f"{campaign}-{n}"))
    db.session.add_all(rows)
    db.session.commit()
    ids = [row.id for row in rows]
    enqueue_ids("marketing", ids)
    return ids


def rows_of(ids) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.query(Notification).filter(Notification.id.in_(ids)).order_by(Notification.id))


def assert_each_recipient_got_its_row(deliveries, rows, id_of):
    assert sorted(d["to"] for d in deliveries) == sorted(row.recipient for row in rows)
    by_address = {d["to"]: d for d in deliveries}
    for row in rows:
        got = by_address[row.recipient]
        assert (got["subject"], got["html"], got["text"]) == (row.subject, row.body, row.body_text)
        assert {k: v for k, v in got["headers"].items() if k.startswith("List-")} == (row.headers or {})
        assert id_of(got) == str(row.id)


def test_personalised_campaign_rows_go_to_sendgrid_in_one_request_each_getting_its_own_mail(app, store, sendgrid):
    use_sendgrid(store, sendgrid)
    ids = campaign_rows(store, PEOPLE)
    run_worker()

    [mail] = sendgrid.mails
    assert len(mail["personalizations"]) == 5
    assert mail["subject"] == SUBJECT and NAME in mail["content"][1]["value"]  # the rendering, sent once
    assert mail["headers"] == {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}  # the same for all
    rows = rows_of(ids)
    assert_each_recipient_got_its_row(sendgrid.deliveries, rows, lambda got: got["custom_args"]["notification_id"])
    assert {(row.status, row.provider, row.provider_message_id) for row in rows} == {("sent", "sendgrid", "sg-1")}


def test_a_row_whose_values_cannot_be_put_back_goes_alone_as_it_is(app, store, sendgrid):
    use_sendgrid(store, sendgrid)
    # A customer whose name is token text, and a row whose values are not the ones in its content.
    ids = campaign_rows(store, [*PEOPLE[:3], "[[nh:unsubscribe]]", "Eve"],
                        values_of=lambda n, values: {NAME: "Zed", LINK: values[LINK]} if n == 4 else values)
    run_worker()

    shared, *alone = sorted(sendgrid.mails, key=lambda mail: -len(mail["personalizations"]))
    assert len(shared["personalizations"]) == 3 and [len(mail["personalizations"]) for mail in alone] == [1, 1]
    assert all("substitutions" not in mail["personalizations"][0] for mail in alone)
    rows = rows_of(ids)
    assert_each_recipient_got_its_row(sendgrid.deliveries, rows, lambda got: got["custom_args"]["notification_id"])
    assert {row.status for row in rows} == {"sent"}


def test_mailgun_sends_a_campaign_with_a_link_per_recipient_header_one_request_each(app, store, mailgun):
    # Mailgun documents recipient variables in the subject and body, not in h: headers.
    use_mailgun(store, mailgun)
    ids = campaign_rows(store, PEOPLE)
    run_worker()

    assert len(mailgun.messages) == 5 and all(len(form["to"]) == 1 for form in mailgun.messages)
    rows = rows_of(ids)
    assert_each_recipient_got_its_row(mailgun.deliveries, rows, lambda got: got["variables"]["notification_id"])
    assert {row.status for row in rows} == {"sent"}


def test_mailgun_batches_personalised_rows_that_share_their_headers(app, store, mailgun):
    use_mailgun(store, mailgun)
    ids = campaign_rows(store, PEOPLE, headers={"List-Unsubscribe": "<mailto:unsubscribe@acme.test>"})
    run_worker()

    [form] = mailgun.messages
    assert len(form["to"]) == 5 and form["subject"] == ["%recipient.name%, our spring sale starts now"]
    rows = rows_of(ids)
    assert_each_recipient_got_its_row(mailgun.deliveries, rows, lambda got: got["variables"]["notification_id"])
    assert {(row.status, row.provider_message_id) for row in rows} == {("sent", f"<20261122.1@{MAILGUN_DOMAIN}>")}


def test_a_batch_request_commits_once_however_many_rows_it_carries(app, store, sendgrid):
    use_sendgrid(store, sendgrid)
    commits = []

    def count(session):
        commits.append(session)

    event.listen(Session, "after_commit", count)
    try:
        counts = []
        for campaign, names in (("small", PEOPLE[:2]), ("larger", [f"N{n}" for n in range(12)])):
            campaign_rows(store, names, campaign=campaign)
            commits.clear()
            run_worker()
            counts.append(len(commits))
    finally:
        event.remove(Session, "after_commit", count)
    assert [len(mail["personalizations"]) for mail in sendgrid.mails] == [2, 12]
    assert counts[0] == counts[1]
