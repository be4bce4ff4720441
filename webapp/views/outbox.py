"""Outbox: what the sandbox provider recorded instead of sending, shown like a mail catcher."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from webapp.accounts.permissions import VIEW_ACTIVITY
from webapp.channels.models import SandboxMessage
from webapp.channels.sms_segments import sms_size
from webapp.extensions import db
from webapp.keyset import keyset_page
from webapp.views import cursor_arg, is_htmx, render_page, require
from webapp.views.activity import ENCODING_LABELS
from webapp.views.read.labels import channel_label

bp = Blueprint("outbox", __name__)
PAGE_SIZE = 50


@bp.context_processor
def _labels() -> dict:
    return {"channel_label": channel_label, "encoding_labels": ENCODING_LABELS}


def _page(before: int | None) -> tuple[list[SandboxMessage], int | None]:
    # Served by the (store_id, id) index.
    query = select(SandboxMessage).where(SandboxMessage.store_id == current_user.store_id)
    page = keyset_page(db.session, query, SandboxMessage.id, before, PAGE_SIZE)
    return page.rows, page.next_before


@bp.get("/outbox")
@require(VIEW_ACTIVITY)
def index():
    before = cursor_arg()
    messages, next_before = _page(before)
    return render_template("outbox/index.html", messages=messages, next_before=next_before, before=before,
                           selected=None)


@bp.get("/outbox/<int:message_id>")
@require(VIEW_ACTIVITY)
def detail(message_id: int):
    before = cursor_arg()
    message = db.session.scalar(select(SandboxMessage).where(SandboxMessage.id == message_id,
                                                             SandboxMessage.store_id == current_user.store_id))
    if message is None:
        abort(404)
    sms = sms_size(message.body) if message.channel == "sms" else None
    messages, next_before = _page(before) if not is_htmx() else ([], None)
    return render_page("outbox/detail.html", "outbox/_message.html", messages=messages, next_before=next_before,
                       before=before, selected=message, sms=sms)
