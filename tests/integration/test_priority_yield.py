"""Three priority classes, and a marketing batch never makes a critical message wait: between
messages it looks at the critical and transactional queues and, when work waits there, hands its
remaining rows back (to the front of the marketing queue) so the worker takes the urgent job next."""
from __future__ import annotations

from rq import Queue
from sqlalchemy import select

from tests.factories import make_customer
from tests.pipeline import run_worker
from webapp.consent.state import set_consent
from webapp.dispatch.delivery import YIELD_EVERY, deliver_batch
from webapp.dispatch.models import Notification
from webapp.dispatch.queueing import DELIVER_JOB, queue
from webapp.extensions import db
from webapp.notifications.send import send_message
from webapp.redis_conn import get_redis
from webapp.runtime import RuntimeSettings

REVIEW = {"review": {"url": "https://shop.example.com/review/1"}}


def marketing_rows(store, count: int) -> list[int]:
    ids = []
    for n in range(count):
        customer = make_customer(store, email=f"m{n}@example.test")
        set_consent(customer, "email", "opted_in", "checkout")
        ids += [row.id for row in send_message(store, customer, "review.request", key=f"m{n}", reason="t",
                                               data=REVIEW)]
    Queue("marketing", connection=get_redis()).empty()  # this test runs the batch itself
    return ids


def test_each_message_type_goes_to_its_priority_queue(store):
    customer = make_customer(store)
    set_consent(customer, "email", "opted_in", "checkout")
    db.session.commit()
    for msg_type, data in (("account.password_reset", {"reset": {"url": "https://s.example/r"}}),
                           ("payment.confirmed", {}), ("review.request", REVIEW)):
        send_message(store, customer, msg_type, key=msg_type, reason="t", data=data)
    assert {n.message_type: n.priority for n in db.session.scalars(select(Notification))} == {
        "account.password_reset": "critical", "payment.confirmed": "transactional", "review.request": "marketing"}
    assert [Queue(p, connection=get_redis()).count for p in ("critical", "transactional", "marketing")] == [1, 1, 1]


def test_a_marketing_batch_hands_back_its_rest_when_a_critical_job_waits(store):
    ids = marketing_rows(store, YIELD_EVERY + 5)
    queue("critical").enqueue(DELIVER_JOB, [])  # a critical job arrived while the batch was claimed
    outcomes = deliver_batch(ids, RuntimeSettings())
    # Every round sends a few first, so a batch makes progress however busy the urgent queues are.
    assert outcomes == {"sent": YIELD_EVERY, "yielded": 5}
    db.session.expire_all()
    rest = db.session.scalars(select(Notification).where(Notification.id.in_(ids), Notification.status != "sent")).all()
    assert len(rest) == 5 and {row.status for row in rest} == {"pending"}
    assert all(row.events[-1].detail == "handed back: critical or transactional messages were waiting"
               for row in rest)
    marketing = Queue("marketing", connection=get_redis())
    assert marketing.count == 1 and sorted(marketing.jobs[0].args[0]) == sorted(row.id for row in rest)
    run_worker()  # the critical job first, then the handed-back batch: everything is sent once
    db.session.expire_all()
    assert {row.status for row in db.session.scalars(select(Notification))} == {"sent"}


def test_without_urgent_work_a_marketing_batch_runs_to_the_end(store):
    ids = marketing_rows(store, YIELD_EVERY + 5)
    assert deliver_batch(ids, RuntimeSettings()) == {"sent": len(ids)}
