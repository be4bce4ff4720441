"""Webhooks duplicated, reordered and tied in time, delivered by a real worker: each customer hears
each status once, never a status the order had already moved past, and the order ends where its
latest change put it."""
from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import select

from tests.faults.harness import assert_no_message_sent_twice, statuses
from tests.pipeline import post_shopify, set_rule, shopify_order
from tests.workers import WorkerProcess, wait_for
from webapp.dispatch.models import Notification
from webapp.extensions import db
from webapp.orders.models import Order

ORDERS = 12


def _events(order_id: int) -> list[tuple[str, dict, str]]:
    """One order's life as Shopify reports it: paid at 10:00, then fulfilled at 11:00, reported by
    orders/updated, orders/paid and orders/fulfilled, the last two tied at 11:00 with the update."""
    paid = shopify_order(id=order_id, updated_at="2024-05-01T10:00:00Z", financial_status="paid",
                         fulfillment_status=None)
    fulfilled = dict(paid, updated_at="2024-05-01T11:00:00Z", fulfillment_status="fulfilled")
    return [("orders/paid", paid, f"{order_id}-paid"),
            ("orders/updated", fulfilled, f"{order_id}-updated"),
            ("orders/paid", dict(fulfilled, fulfillment_status=None), f"{order_id}-paid-tied"),
            ("orders/fulfilled", fulfilled, f"{order_id}-fulfilled")]


def _all_sent(provider):
    def check() -> bool:
        counts = statuses()
        return bool(counts) and set(counts) == {"sent"} and len(provider.accepted) == sum(counts.values())
    return check


def test_duplicated_reordered_and_tied_webhooks_notify_once_per_status(app, client, own_redis, cancelling_store,
                                                                       provider, tmp_path):
    store = cancelling_store
    set_rule(store, "shopify", "sent_for_processing")
    set_rule(store, "shopify", "ready")
    deliveries = []
    for n in range(ORDERS):
        events = _events(820982911946160000 + n)
        deliveries += events + events[:2]  # every order gets two of its webhooks twice
    random.Random(14).shuffle(deliveries)  # and all of them out of order
    worker = WorkerProcess(app, own_redis.url, tmp_path / "worker.log")
    try:
        for topic, payload, webhook_id in deliveries:
            assert post_shopify(client, store, topic, payload, webhook_id).status_code in (200, 202)
        wait_for(_all_sent(provider), 60, "the messages to be sent")
    finally:
        worker.stop()
    db.session.expire_all()
    assert {order.status for order in db.session.scalars(select(Order))} == {"ready"}
    sent = Counter((row.order_id, row.message_type, row.channel) for row in db.session.scalars(select(Notification)))
    assert max(sent.values()) == 1, "a customer heard the same status twice"
    ready = Counter(message_type for (_, message_type, _) in sent if message_type == "order.ready")
    assert ready["order.ready"] == 2 * ORDERS  # every customer heard "ready", by email and SMS
    assert_no_message_sent_twice(provider)
