"""GDPR jobs: build a customer's data export, erase a customer. Each takes the request's id; a failure
is recorded on the request (and logged), never raised into the worker."""
from __future__ import annotations

import logging

from flask import current_app

from jobs.appcontext import with_app_context
from webapp.customers.export_links import ExportLinks
from webapp.customers.gdpr import GdprError, fail
from webapp.extensions import db
from webapp.pipeline.erasure import erase_customer
from webapp.pipeline.gdpr import build_export

log = logging.getLogger(__name__)


@with_app_context
def run_export(request_id: int) -> str:
    links = ExportLinks.from_config(current_app.config)
    return _run(request_id, lambda: build_export(request_id, links))


@with_app_context
def run_erasure(request_id: int) -> str:
    return _run(request_id, lambda: erase_customer(request_id))


def _run(request_id: int, work) -> str:
    try:
        request = work()
    except Exception as error:  # recorded below: one customer's request must not take the worker down
        db.session.rollback()
        log.exception("GDPR request %s failed", request_id)
        fail(request_id, _describe(error))
        return "failed"
    return request.status if request is not None else "not queued; nothing to do"


def _describe(error: Exception) -> str:
    # Database errors quote the statement's values, which may be the very data being erased: only
    # our own errors are shown in full.
    if isinstance(error, GdprError):
        return str(error)
    return f"{type(error).__name__}: nothing was changed. The worker's log has the details; ask again to retry."
