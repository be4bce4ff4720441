"""Ingest: one normalized event in, the order updated and its notifications in the outbox.

Everything an event changes (the inbound record, customer and their checkout consent, order,
history, notifications: by the rules for order and invoice statuses, by routing for payments,
refunds and shipping updates) is written in one transaction, then enqueued. A duplicate delivery
of the same event finds its inbound record and stops; two different events racing to the same
status produce the same idempotency keys, so the unique index lets only one set of notifications in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp import vocabulary
from webapp.accounts.models import Store
from webapp.customers.models import Customer
from webapp.customers.upsert import upsert_customer
from webapp.dispatch.models import Notification
from webapp.dispatch.outbox import add_planned
from webapp.dispatch.queueing import assign_jobs, enqueue_assigned
from webapp.events import models as ev
from webapp.events.normalized import INVOICE, ORDER, NormalizedEvent
from webapp.extensions import db
from webapp.notifications.plan_requests import plan_request
from webapp.notifications.planner import plan_for_event
from webapp.notifications.rule_store import rules_for_event
from webapp.orders.history import times_entered
from webapp.orders.models import Order, OrderStatusChange
from webapp.pipeline.checkout_consent import apply_checkout_consent
from webapp.pipeline.event_messages import plan_event_messages
from webapp.pipeline.order_records import apply_status, update_details, upsert_order

log = logging.getLogger(__name__)
MAX_TRIES = 3


@dataclass
class IngestResult:
    outcome: str
    inbound_event_id: int | None = None
    order_id: int | None = None
    notification_ids: list[int] = field(default_factory=list)
    duplicate: bool = False
    detail: str = ""


def ingest_event(store: Store, event: NormalizedEvent, dedupe_key: str, payload: dict | None = None,
                 waiting_inbound_id: int | None = None, tries: int = MAX_TRIES) -> IngestResult:
    """Apply one event. `waiting_inbound_id` completes an event stored earlier as WAITING
    (BigCommerce, whose order details are fetched after the webhook was answered). `tries=1` for a
    caller whose own writes are in the same transaction: a retry would commit without them, so the
    IntegrityError goes back to the caller (the session rolled back) instead."""
    for attempt in range(tries):
        try:
            # Duplicates are rare: the first attempt relies on the unique index alone, and only a
            # retry after losing to it pays for looking the earlier delivery up.
            result, notifications = _ingest_once(store, event, dedupe_key, payload, waiting_inbound_id,
                                                 look_for_duplicate=attempt > 0)
        except IntegrityError:
            db.session.rollback()
            if attempt == tries - 1:
                raise
            continue
        enqueue_assigned(notifications)
        return result
    raise AssertionError("unreachable")


def _ingest_once(store, event, dedupe_key, payload, waiting_inbound_id,
                 look_for_duplicate: bool) -> tuple[IngestResult, list[Notification]]:
    inbound = None
    if waiting_inbound_id is not None or look_for_duplicate:
        inbound = db.session.scalar(select(ev.InboundEvent).where(
            ev.InboundEvent.store_id == store.id, ev.InboundEvent.source == event.source,
            ev.InboundEvent.dedupe_key == dedupe_key).with_for_update())
        if inbound is not None and not (inbound.id == waiting_inbound_id and inbound.outcome == ev.WAITING):
            return IngestResult(inbound.outcome, inbound.id, inbound.order_id, duplicate=True,
                                detail="duplicate delivery; already handled"), []

    data = event.customer
    customer = upsert_customer(db.session, store.id, store.default_locale, name=data.name, email=data.email,
                               phone=data.phone, country=data.country, locale=data.locale, source=event.source,
                               external_id=data.external_id)
    order, created = upsert_order(store, event, customer)
    db.session.flush()  # ids for the order and customer
    apply_checkout_consent(customer, data, event.source)
    occurrence = 0 if created else times_entered(order.id, event.status)
    if inbound is None:
        inbound = ev.InboundEvent(store_id=store.id, source=event.source, topic=event.topic[:64],
                                  dedupe_key=dedupe_key, payload=payload)
        db.session.add(inbound)
    inbound.order_id = order.id
    change = apply_status(order, event, inbound)
    notifications: list[Notification] = []
    if change is None:
        inbound.outcome, inbound.detail = ev.IGNORED, f"order is already {event.status}"
    elif not change.applied:
        inbound.outcome = ev.STALE
        inbound.detail = f"older than the order's current status ({order.status}); recorded, not applied"
    else:
        inbound.outcome = ev.PROCESSED
        if not created:
            update_details(order, event)
        if event.kind in (ORDER, INVOICE):
            notifications = _plan(store, event, order, customer, change, occurrence)
            assign_jobs(notifications)
            inbound.detail = f"{len(notifications)} notification(s) planned"
    if change is None or change.applied:  # a stale event is old news
        notifications += _plan_routed(store, event, order, customer, change, occurrence, inbound)
    db.session.commit()
    result = IngestResult(inbound.outcome, inbound.id, order.id, [n.id for n in notifications],
                          detail=inbound.detail or "")
    return result, notifications


def _plan_routed(store, event: NormalizedEvent, order: Order, customer: Customer | None,
                 change: OrderStatusChange | None, occurrence: int, inbound: ev.InboundEvent) -> list[Notification]:
    """Payment, refund and shipping messages, by routing. A carrier scan for an order that is
    already shipped changes no status, but is still news for the customer."""
    routed = plan_event_messages(store, event, order, customer, change, occurrence)
    if routed:
        planned = f"{len(routed)} routed notification(s) planned"
        inbound.outcome, inbound.detail = ev.PROCESSED, f"{inbound.detail}; {planned}" if inbound.detail else planned
    return routed


def _plan(store, event: NormalizedEvent, order: Order, customer: Customer | None, change: OrderStatusChange,
          occurrence: int) -> list[Notification]:
    request = plan_request(store, order, customer, event.kind, event.status)
    rules = rules_for_event(store.id, event.kind, event.source, event.status)
    planned = plan_for_event(rules, event.source, request)
    if not planned:
        return []
    rule = f"{vocabulary.source_label(event.source) if event.kind == ORDER else 'Invoice'} · " \
           f"{vocabulary.status_label(event.kind, event.status)}"
    return add_planned(store_id=store.id, source=event.source, planned=planned,
                       key_base=f"{store.id}:{order.id}:{event.kind}:{event.status}:{occurrence}",
                       reason=f"rule “{rule}” ({event.topic})", order_id=order.id,
                       customer_id=customer.id if customer else None, status_change=change)
