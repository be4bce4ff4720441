"""GDPR requests of one customer (an export or an erasure), and what they do to the customers'
own tables: the profile, push devices, CSV imports and the requests themselves. The tables of
orders, consent, the outbox and events are the orchestration's (webapp/pipeline/gdpr.py and
erasure.py; customers sit below those packages), which calls these inside its one transaction.
Nothing here commits unless it says so.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from webapp.customers.models import Customer, CustomerDevice, CustomerImport, GdprRequest
from webapp.customers.redaction import PersonalValues, Redactor
from webapp.customers.scrub import mentioning_any, update_changed
from webapp.extensions import db
from webapp.timeutil import utcnow

EXPORT, ERASURE = "export", "erasure"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
OPEN = (QUEUED, RUNNING)
ERASED_NAME = "Erased customer"
ERASED_ADDRESS = "erased"
JOB_TIMEOUT = timedelta(minutes=10)  # what a worker gives one GDPR job (pipeline/gdpr.py enqueues with it)
# A request still open this long after it was asked (or last failed) lost its job: the worker died
# or the queue forgot it. No start time is stored, so the age also covers a wait in a busy queue.
STALE_AFTER = 6 * JOB_TIMEOUT


class GdprError(ValueError):
    """A request that cannot be made or run as asked; the message says why."""


def new_request(customer: Customer, kind: str, requested_by: str) -> GdprRequest:
    """An erasure may be asked for again: it also erases what was linked to the customer since."""
    request = GdprRequest(store_id=customer.store_id, customer_id=customer.id, kind=kind, status=QUEUED,
                          requested_by=requested_by[:64])
    db.session.add(request)
    return request


def request_in_store(store_id: int, request_id: int) -> GdprRequest | None:
    return db.session.scalar(select(GdprRequest).where(GdprRequest.id == request_id,
                                                       GdprRequest.store_id == store_id))


def requests_of(store_id: int, customer_id: int, limit: int = 20) -> list[GdprRequest]:
    return list(db.session.scalars(select(GdprRequest).where(GdprRequest.store_id == store_id,
                                                             GdprRequest.customer_id == customer_id)
                                   .order_by(GdprRequest.id.desc()).limit(limit)))


def stale_open_request(customer: Customer, kind: str, now: datetime) -> GdprRequest | None:
    """The customer's oldest open request of this kind that lost its job (see STALE_AFTER)."""
    return db.session.scalar(select(GdprRequest).where(GdprRequest.store_id == customer.store_id,
                                                       GdprRequest.customer_id == customer.id,
                                                       GdprRequest.kind == kind, GdprRequest.status.in_(OPEN),
                                                       _stale(now))
                             .order_by(GdprRequest.id).limit(1))


def requeue(request: GdprRequest, now: datetime) -> bool:
    """A stale open request asked for again: queued as asked `now` (its first asking stays in the audit
    log). A compare-and-set: False when its job finished or another caller requeued it meanwhile."""
    taken = db.session.execute(update(GdprRequest).where(GdprRequest.id == request.id, GdprRequest.status.in_(OPEN),
                                                         _stale(now))
                               .values(status=QUEUED, error=None, created_at=now, finished_at=None))
    return bool(taken.rowcount)


def start(request_id: int, kind: str) -> GdprRequest | None:
    """Take a queued request, a failed one when retried, or a running one whose job died (stale): a
    compare-and-set, so a job enqueued twice runs it once. Commits. None when there is nothing to do."""
    takeable = or_(GdprRequest.status.in_((QUEUED, FAILED)), (GdprRequest.status == RUNNING) & _stale(utcnow()))
    taken = db.session.execute(update(GdprRequest).where(GdprRequest.id == request_id, GdprRequest.kind == kind,
                                                         takeable)
                               .values(status=RUNNING, error=None))
    db.session.commit()
    return db.session.get(GdprRequest, request_id) if taken.rowcount else None


def _stale(now: datetime):
    """Asked (or asked again), and last failed if it did, longer than STALE_AFTER ago."""
    cutoff = now - STALE_AFTER
    return (GdprRequest.created_at < cutoff) & (GdprRequest.finished_at.is_(None) | (GdprRequest.finished_at < cutoff))


def finish(request: GdprRequest, result: dict | None = None) -> None:
    request.status, request.result, request.finished_at = DONE, result, utcnow()


def fail(request_id: int, error: str) -> None:
    """Record a failure on its own (the caller rolled the work back). Commits."""
    db.session.execute(update(GdprRequest).where(GdprRequest.id == request_id)
                       .values(status=FAILED, error=error[:2000], finished_at=utcnow()))
    db.session.commit()


def customer_for(request: GdprRequest, *, lock: bool = False) -> Customer:
    """The request's customer, refusing one of another store (a request is only ever made within one)."""
    query = select(Customer).where(Customer.id == request.customer_id, Customer.store_id == request.store_id)
    customer = db.session.scalar(query.with_for_update() if lock else query)
    if customer is None:
        raise GdprError(f"request #{request.id}: customer #{request.customer_id} is not a customer of this store")
    return customer


def personal_values(customer: Customer) -> PersonalValues:
    return PersonalValues.of(emails=[customer.email], phones=[customer.phone], names=[customer.name])


def push_addresses(customer_id: int) -> list[str]:
    """The customer's push devices as the outbox addresses them ("fcm:<token>")."""
    rows = db.session.execute(select(CustomerDevice.platform, CustomerDevice.token)
                              .where(CustomerDevice.customer_id == customer_id))
    return [f"{platform}:{token}" for platform, token in rows]


def erased_address(store_id: int, channel: str, address: str) -> str:
    """How a suppression of an erased customer's address is kept: a one-way digest, so the address
    is gone but the same address arriving again can still be recognised as suppressed."""
    digest = hashlib.sha256(f"{store_id}:{channel}:{address.strip().lower()}".encode()).hexdigest()
    return f"erased:{digest}"


# --- export ----------------------------------------------------------------------------------------

def profile_export(customer: Customer) -> dict:
    devices = db.session.scalars(select(CustomerDevice).where(CustomerDevice.customer_id == customer.id)
                                 .order_by(CustomerDevice.id))
    return {
        "id": customer.id, "name": customer.name, "email": customer.email, "phone": customer.phone,
        "locale": customer.locale, "timezone": customer.timezone, "country": customer.country,
        "groups": customer.groups or [], "tags": customer.tags or [], "external_ids": customer.external_ids or {},
        "muted_topics": customer.muted_topics or [], "created_at": _iso(customer.created_at),
        "updated_at": _iso(customer.updated_at),
        "devices": [{"platform": d.platform, "token": d.token, "created_at": _iso(d.created_at),
                     "last_seen_at": _iso(d.last_seen_at)} for d in devices],
    }


def forget_older_exports(customer_id: int, keep_id: int) -> None:
    """A new export replaces the previous ones: their copies of the data are deleted."""
    db.session.execute(update(GdprRequest).where(GdprRequest.customer_id == customer_id, GdprRequest.kind == EXPORT,
                                                 GdprRequest.id != keep_id, GdprRequest.result.is_not(None))
                       .values(result=None))


# --- erasure ---------------------------------------------------------------------------------------

def erase_profile(customer: Customer, now: datetime) -> None:
    """The row stays (orders and counts point at it); everything that says who it was goes. Its
    external ids too, so an upsert by a source's customer id cannot bring data back into it."""
    customer.name, customer.email, customer.phone = ERASED_NAME, None, None
    customer.timezone = customer.country = None
    customer.groups, customer.tags, customer.external_ids, customer.muted_topics = [], [], {}, []
    customer.erased_at = now
    db.session.execute(delete(CustomerDevice).where(CustomerDevice.customer_id == customer.id))


def erase_requests(customer_id: int, redactor: Redactor) -> None:
    """Every export of the customer is deleted; what the requests' errors say about them is redacted."""
    db.session.execute(update(GdprRequest).where(GdprRequest.customer_id == customer_id)
                       .values(result=None))
    rows = db.session.execute(select(GdprRequest.id, GdprRequest.error).where(
        GdprRequest.customer_id == customer_id, GdprRequest.error.is_not(None)))
    update_changed(GdprRequest, {"error": redactor.text}, rows)


def erase_from_imports(store_id: int, redactor: Redactor) -> None:
    """CSV uploads that mention the customer lose those lines (an import not yet run then cannot bring
    them back); their file names and per-line errors are redacted."""
    columns = (CustomerImport.content, CustomerImport.filename, CustomerImport.errors)
    rows = db.session.execute(select(CustomerImport.id, *columns).where(
        CustomerImport.store_id == store_id, mentioning_any(columns, redactor.needles())))
    update_changed(CustomerImport, {"content": lambda content: _without_lines(content, redactor),
                                    "filename": redactor.text, "errors": redactor.json}, rows)


def _without_lines(content: str | None, redactor: Redactor) -> str | None:
    if not content:
        return content
    lines = content.splitlines(keepends=True)
    return "".join(lines[:1] + [line for line in lines[1:] if not redactor.mentions(line)])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
