"""Campaign (marketing) messages go through a provider's batch API when it has one; transactional
ones never do; what a batch leaves unsent carries on from the next provider."""
import pytest

from tests.pipeline import run_worker
from webapp.channels.accounts import configure_provider
from webapp.channels.providers.base import (
    ConfigField,
    PermanentProviderError,
    ProviderConfigError,
    ProviderSpec,
    SendResult,
)
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
