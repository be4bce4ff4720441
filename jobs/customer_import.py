"""The job that runs a large customer import (the dashboard runs small ones in the request)."""
from __future__ import annotations

from jobs.appcontext import with_app_context
from webapp.consent.bulk import set_consents
from webapp.customers.import_store import run_import as run


@with_app_context
def run_import(import_id: int) -> str:
    row = run(import_id, set_consents)
    return row.status if row is not None else "not-runnable"
