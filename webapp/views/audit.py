"""The audit log, for the owner: every change, who made it, when, old → new."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.accounts.permissions import VIEW_AUDIT
from webapp.audit.models import AuditEntry
from webapp.extensions import db
from webapp.views import cursor_arg, require

bp = Blueprint("audit", __name__, url_prefix="/settings")
PAGE_SIZE = 50


@bp.get("/audit")
@require(VIEW_AUDIT)
def index():
    # Keyset pagination on id: stays fast however long the log grows.
    before = cursor_arg()
    query = (select(AuditEntry).options(joinedload(AuditEntry.user))
             .where(AuditEntry.store_id == current_user.store_id)
             .order_by(AuditEntry.id.desc()).limit(PAGE_SIZE + 1))
    if before:
        query = query.where(AuditEntry.id < before)
    entries = list(db.session.scalars(query))
    next_before = entries[PAGE_SIZE - 1].id if len(entries) > PAGE_SIZE else None
    return render_template("audit/index.html", entries=entries[:PAGE_SIZE], next_before=next_before)
