"""A delivery job that runs twice, or late after its messages went out, sends nothing more: the
claim takes only rows still waiting, in the statement that moves them to sending. Counted at a
local provider server, with real RQ jobs run by the production worker class."""
from __future__ import annotations

from sqlalchemy import select

from tests.faults.harness import RecordingProvider, use_provider
from tests.pipeline import connect_sources, post_shopify, run_worker, set_rule, shopify_order
from webapp.dispatch.models import Notification
from webapp.dispatch.queueing import DELIVER_JOB, queue
from webapp.extensions import db


def _pending_cancellation(client, store, provider) -> list[int]:
    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    use_provider(store, provider.server.url)
    assert post_shopify(client, store, "orders/cancelled", shopify_order(), "dup-1").status_code == 200
    return sorted(db.session.scalars(select(Notification.id)))


def test_a_duplicated_job_sends_each_message_once(app, client, store):
    provider = RecordingProvider(delay=0)
    try:
        ids = _pending_cancellation(client, store, provider)
        for _ in range(2):  # the same ids enqueued again, as a retried enqueue or a second sweep would
            queue("critical").enqueue(DELIVER_JOB, ids)
        run_worker()
    finally:
        provider.close()
    assert len(ids) == 2 and sum(provider.calls.values()) == 2 and set(provider.calls.values()) == {1}


def test_a_late_job_after_the_messages_went_out_sends_nothing(app, client, store):
    provider = RecordingProvider(delay=0)
    try:
        ids = _pending_cancellation(client, store, provider)
        run_worker()
        assert sum(provider.calls.values()) == 2
        queue("critical").enqueue(DELIVER_JOB, ids)  # a job that was stuck somewhere, now arriving
        run_worker()
    finally:
        provider.close()
    assert sum(provider.calls.values()) == 2
    db.session.expire_all()
    assert {row.status for row in db.session.scalars(select(Notification))} == {"sent"}
