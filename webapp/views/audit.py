"""The audit log, for the owner: every change, who made it, when, old → new."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.accounts.permissions import VIEW_AUDIT
from webapp.audit.models import AuditEntry
from webapp.extensions import db
from webapp.keyset import keyset_page
from webapp.views import cursor_arg, require

bp = Blueprint("audit", __name__, url_prefix="/settings")
PAGE_SIZE = 50


@bp.get("/audit")
@require(VIEW_AUDIT)
def index():
    # Keyset pagination on id: stays fast however long the log grows.
    query = (select(AuditEntry).options(joinedload(AuditEntry.user))
             .where(AuditEntry.store_id == current_user.store_id))
    page = keyset_page(db.session, query, AuditEntry.id, cursor_arg(), PAGE_SIZE)
    return render_template("audit/index.html", entries=page.rows, next_before=page.next_before)
