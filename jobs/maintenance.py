"""Small jobs about the system itself."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import text

from jobs.appcontext import with_app_context
from webapp.extensions import db


@with_app_context
def ping(token: str) -> dict:
    """Round-trip through a worker, the app and the database; used by health checks and tests."""
    db.session.execute(text("SELECT 1"))
    return {"token": token, "app": current_app.name}


def noop() -> None:
    """Does nothing: the yardstick for what the queue itself costs (bench/rq_noop.py)."""
