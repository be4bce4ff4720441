"""GDPR requests end to end: a customer's data export or erasure is asked for (dashboard or API),
recorded and audited, and run as a job (jobs/gdpr.py). A finished export is kept on its request
for the download link and announced to the customer with the "gdpr.export_ready" message.

The jobs go on the transactional queue: the work is a few queries, but it should never stand
between a worker and a critical message. The export_ready message itself is critical (catalog).

No "gdpr.erasure_done" message is sent: after the erasure there is no address left to send it to,
and sending it before would leave a message to scrub or cancel. The audit log's "customer.erased"
entry and the request's status (dashboard, GET /api/v1/gdpr/<id>) are the confirmation; a store
that wants to tell the shopper does so through its own channel, which still knows them.
"""
from __future__ import annotations

import logging

import redis

from webapp.accounts.models import Store, User
from webapp.audit.models import record
from webapp.customers import gdpr
from webapp.customers.export_links import VALID_FOR, ExportLinks, expires_at
from webapp.customers.models import Customer, GdprRequest
from webapp.dispatch.queueing import queue
from webapp.extensions import db
from webapp.notifications.send import send_message
from webapp.pipeline.gdpr_export import export_document
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
JOBS = {gdpr.EXPORT: "jobs.gdpr.run_export", gdpr.ERASURE: "jobs.gdpr.run_erasure"}
JOB_QUEUE = "transactional"
JOB_OPTIONS = {"job_timeout": int(gdpr.JOB_TIMEOUT.total_seconds()), "result_ttl": 0, "failure_ttl": 7 * 86400}
MAX_REASON = 500
QUEUE_DOWN = "The job queue did not answer, so the request was not started. Please ask again in a moment."


def request_export(store: Store, customer: Customer, requested_by: User | None) -> GdprRequest:
    """Record and queue an export (requested_by None: the API). Commits."""
    return _request(store, customer, gdpr.EXPORT, requested_by, None)


def request_erasure(store: Store, customer: Customer, requested_by: User | None, reason: str) -> GdprRequest:
    """Record and queue an erasure; the reason is kept in the audit log. Commits."""
    reason = (reason or "").strip()
    if not reason:
        raise gdpr.GdprError("Say why the data is erased (for example “customer asked by email on 2 May”).")
    if len(reason) > MAX_REASON:
        raise gdpr.GdprError(f"Keep the reason under {MAX_REASON} characters.")
    return _request(store, customer, gdpr.ERASURE, requested_by, reason)


def _request(store: Store, customer: Customer, kind: str, user: User | None, reason: str | None) -> GdprRequest:
    if customer.store_id != store.id:
        raise gdpr.GdprError("No such customer in this store.")
    if kind == gdpr.EXPORT and customer.erased_at is not None:
        raise gdpr.GdprError("This customer's data was erased: there is nothing left to export.")
    # Asking again for a request whose job was lost (its worker died) runs that request, rather than
    # leaving it "running" for ever beside a new one.
    now = utcnow()
    request = gdpr.stale_open_request(customer, kind, now)
    resumed = request is not None and gdpr.requeue(request, now)
    if not resumed:
        request = gdpr.new_request(customer, kind, f"staff:{user.id}" if user else "api")
    db.session.flush()
    record(store.id, user.id if user else None, f"customer.{kind}_requested", f"Customer #{customer.id}",
           new={"request": request.id, "by": "staff" if user else "api", **({"resumed": True} if resumed else {})},
           reason=reason)
    db.session.commit()
    _enqueue(request)
    return request


def _enqueue(request: GdprRequest) -> None:
    """No sweep retries a lost GDPR job, so a queue that does not answer fails the request visibly."""
    try:
        queue(JOB_QUEUE).enqueue(JOBS[request.kind], request.id, job_id=f"gdpr-{request.id}", **JOB_OPTIONS)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        log.warning("GDPR request %s not queued: %s", request.id, error)
        gdpr.fail(request.id, QUEUE_DOWN)
        db.session.refresh(request)


def build_export(request_id: int, links: ExportLinks) -> GdprRequest | None:
    """Run an export request: the JSON is stored on it (older exports of the customer are deleted),
    then the customer is sent the download link. None when it is not queued."""
    request = gdpr.start(request_id, gdpr.EXPORT)
    if request is None:
        return None
    customer = gdpr.customer_for(request)
    if customer.erased_at is not None:
        raise gdpr.GdprError("The customer's data was erased before the export ran.")
    store = db.session.get(Store, request.store_id)
    gdpr.finish(request, export_document(customer, store.name))
    gdpr.forget_older_exports(customer.id, request.id)
    db.session.commit()
    send_message(store, customer, "gdpr.export_ready", key=f"gdpr-export:{request.id}",
                 reason=f"GDPR data export #{request.id} is ready", source=_source(request),
                 data={"gdpr": {"download_url": download_url(request, links),
                                "expires_days": VALID_FOR.days}})
    return request


def download_url(request: GdprRequest, links: ExportLinks) -> str | None:
    """The export's download link, while it has one: done, not deleted, not expired."""
    if request.kind != gdpr.EXPORT or request.status != gdpr.DONE or request.result is None:
        return None
    if utcnow() >= expires_at(request.finished_at):
        return None
    return links.url(request.store_id, request.id, request.finished_at)


def _source(request: GdprRequest) -> str:
    return "api" if request.requested_by == "api" else "manual"
