"""Customer CSV imports, stored: an upload becomes a previewed import (its text kept until it runs),
the uploader chooses the mapping, and running it writes every row or none.

A run checks every row first, committing its progress every few thousand rows for the progress
bar; a file with any error is refused with each error's line and nothing else is written. Then
one transaction upserts the customers in bulk and records their consent. The file's text is
deleted when the import is done or refused, so no personal data outlives it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import defer

from webapp.accounts.models import Store, User
from webapp.audit.models import record
from webapp.customers import csv_import
from webapp.customers.bulk_upsert import upsert_customers
from webapp.customers.fields import ConsentChange, CustomerRow
from webapp.customers.models import CustomerImport
from webapp.extensions import db
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
PREVIEWED, QUEUED, RUNNING, DONE, FAILED = "previewed", "queued", "running", "done", "failed"
IMPORT_SOURCE = "import"  # the external-id key and the consent source of every imported row
PROGRESS_EVERY = 5000
# Where the customers in the file agreed to marketing, asked of the uploader whenever a consent
# column is imported; kept on the import and in each consent event's detail.
CONSENT_ORIGINS = {
    "checkout": "At checkout in the shop",
    "signup_form": "A sign-up form on the website",
    "in_person": "In person, in a shop or at an event",
    "other_tool": "Another marketing tool or CRM",
    "paper": "A signed paper form",
}
# How a run hands the consent changes up to webapp.consent (which sits above customers):
# webapp.consent.bulk.set_consents fits.
ConsentWriter = Callable[..., int]


def create_import(store_id: int, user_id: int | None, filename: str, data: bytes) -> CustomerImport:
    """A previewed import of the uploaded file; csv_import.CsvError when it cannot be read at all."""
    text = csv_import.decode(data)
    found = csv_import.preview(text)
    row = CustomerImport(store_id=store_id, filename=(filename or "customers.csv")[:200], content=text,
                         mapping=found.mapping, total_rows=found.total_rows, created_by=user_id, status=PREVIEWED)
    db.session.add(row)
    db.session.commit()
    return row


def get_import(store_id: int, import_id: int) -> CustomerImport | None:
    # The file's text (megabytes) is read only when asked for: the progress bar polls this.
    return db.session.scalar(select(CustomerImport).options(defer(CustomerImport.content))
                             .where(CustomerImport.id == import_id, CustomerImport.store_id == store_id))


def recent_imports(store_id: int, limit: int = 10) -> list[CustomerImport]:
    return list(db.session.scalars(select(CustomerImport).options(defer(CustomerImport.content))
                                   .where(CustomerImport.store_id == store_id)
                                   .order_by(CustomerImport.id.desc()).limit(limit)))


def preview_of(row: CustomerImport) -> csv_import.Preview | None:
    """The first rows again, for the preview page; None once the file's text is gone."""
    return csv_import.preview(row.content) if row.content and row.status == PREVIEWED else None


def choose(row: CustomerImport, columns: Sequence[str], consent_origin: str) -> list[str]:
    """Keep the uploader's mapping (the field of each column, in order; "" to skip one) and consent
    origin on a previewed import; the problems, if any (then nothing is kept)."""
    found = preview_of(row)
    if found is None:
        return ["This import has already run; upload the file again to import it once more."]
    if len(columns) != len(found.headers):
        return [f"Choose a field (or “skip”) for each of the {len(found.headers)} columns."]
    mapping = dict(zip(found.headers, columns, strict=True))
    problems = csv_import.check_mapping(found.headers, mapping)
    if csv_import.uses_consent(mapping) and consent_origin not in CONSENT_ORIGINS:
        problems.append("Say where these customers gave their marketing consent: importing consent requires it.")
    if problems:
        return problems
    row.mapping = mapping
    row.consent_source = consent_origin if csv_import.uses_consent(mapping) else None
    db.session.commit()
    return []


def mark_queued(row: CustomerImport) -> bool:
    """Previewed → queued, once (a second click finds it queued already)."""
    return _move(row.id, (PREVIEWED,), QUEUED)


def back_to_preview(row: CustomerImport) -> None:
    """The queue could not take the job: the import can be started again."""
    _move(row.id, (QUEUED,), PREVIEWED)


def discard(row: CustomerImport) -> bool:
    """Drop a previewed import's file without importing it."""
    if not _move(row.id, (PREVIEWED,), FAILED):
        return False
    db.session.refresh(row)
    row.content, row.finished_at = None, utcnow()
    row.errors = [{"line": None, "error": "discarded before it was imported"}]
    db.session.commit()
    return True


def _move(import_id: int, from_statuses: tuple[str, ...], to_status: str) -> bool:
    """A compare-and-set on the status, committed, so two requests or jobs never both win."""
    moved = db.session.execute(update(CustomerImport).where(CustomerImport.id == import_id,
                                                            CustomerImport.status.in_(from_statuses))
                               .values(status=to_status)).rowcount
    db.session.commit()
    return moved == 1


def run_import(import_id: int, write_consents: ConsentWriter) -> CustomerImport | None:
    """Run a previewed or queued import to done or failed; None when it is not there to run (a
    duplicated job, or someone else started it)."""
    if not _move(import_id, (PREVIEWED, QUEUED), RUNNING):
        return None
    row = db.session.get(CustomerImport, import_id)
    try:
        checked = _check(row)
        if checked.error_count:
            _refuse(row, [error.as_dict() for error in checked.errors], checked.error_count)
        else:
            _write(row, checked.rows, write_consents)
    except csv_import.CsvError as problem:
        db.session.rollback()
        _refuse(row, [{"line": None, "error": str(problem)}], 1)
    except Exception as error:
        db.session.rollback()
        log.exception("customer import %s failed", import_id)
        _refuse(row, [{"line": None, "error": f"the import stopped on an unexpected error ({type(error).__name__}); "
                                              "nothing was imported. Try again, or ask for help if it repeats."}], 1)
    return row


def _check(row: CustomerImport) -> csv_import.Validated:
    def progress(done: int) -> None:
        # A statement, not the attribute: setting it would reload the expired row, file and all.
        db.session.execute(update(CustomerImport).where(CustomerImport.id == row.id).values(processed_rows=done))
        db.session.commit()

    checked = csv_import.validate(row.content or "", row.mapping or {}, on_progress=progress,
                                  progress_every=PROGRESS_EVERY)
    if not checked.error_count:
        progress(checked.total_rows)  # every row checked: the page says the writing has begun
    return checked


def _refuse(row: CustomerImport, errors: list[dict], count: int) -> None:
    if count > len(errors):
        errors.append({"line": None, "error": f"… and {count - len(errors):,} more errors"})
    row.status, row.errors, row.content, row.finished_at = FAILED, errors, None, utcnow()
    row.created_count = row.updated_count = 0
    db.session.commit()


def _write(row: CustomerImport, rows: Sequence[CustomerRow], write_consents: ConsentWriter) -> None:
    """One transaction: every customer, their consent, the import's outcome and its audit entry."""
    store = db.session.get(Store, row.store_id)
    result = upsert_customers(db.session, store.id, store.default_locale or "en", rows, IMPORT_SOURCE)
    origin = CONSENT_ORIGINS.get(row.consent_source or "", "")
    changes = [ConsentChange(store.id, customer_id, channel, status,
                             (result.addresses[customer_id][0] if channel == "email" else
                              result.addresses[customer_id][1]) or "",
                             f"{row.filename} line {item.line}" + (f"; consent given: {origin}" if origin else ""))
               for item, customer_id in zip(rows, result.customer_ids, strict=True)
               for channel, status in item.consents]
    uploader = db.session.get(User, row.created_by) if row.created_by else None
    if changes:
        write_consents(changes, IMPORT_SOURCE, actor=uploader.email if uploader else None)
    row.status, row.content, row.errors, row.finished_at = DONE, None, [], utcnow()
    row.processed_rows, row.created_count, row.updated_count = len(rows), result.created, result.updated
    record(store.id, row.created_by, "customers.imported", f"import #{row.id} ({row.filename})"[:200],
           new={"rows": len(rows), "created": result.created, "updated": result.updated,
                "consent_changes": len(changes)})
    db.session.commit()
