"""Orders: the list, and each order's history, notifications, and staff sends and resends."""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp import vocabulary
from webapp.accounts.permissions import SEND_NOTIFICATIONS, VIEW_ORDERS
from webapp.channels.registry import rule_channels
from webapp.dispatch.models import Notification
from webapp.extensions import db
from webapp.keyset import keyset_page
from webapp.notifications.manual import AlreadySent, ManualSendError, resend, send_manual
from webapp.orders.models import Order, OrderStatusChange
from webapp.views import cursor_arg, require

bp = Blueprint("orders", __name__, url_prefix="/orders")
PAGE_SIZE = 50


def store_order_or_404(order_id: int) -> Order:
    order = db.session.scalar(
        select(Order).options(joinedload(Order.customer))
        .where(Order.id == order_id, Order.store_id == current_user.store_id)
    )
    if order is None:
        abort(404)
    return order


@bp.get("")
@require(VIEW_ORDERS)
def index():
    query = select(Order).options(joinedload(Order.customer)).where(Order.store_id == current_user.store_id)
    page = keyset_page(db.session, query, Order.id, cursor_arg(), PAGE_SIZE)
    return render_template("orders/index.html", orders=page.rows, next_before=page.next_before,
                           vocabulary=vocabulary)


def _detail(order: Order, status: int = 200, error: str | None = None, form: dict | None = None):
    history = db.session.scalars(select(OrderStatusChange).where(OrderStatusChange.order_id == order.id)
                                 .order_by(OrderStatusChange.id.desc())).all()
    notifications = db.session.scalars(select(Notification).where(Notification.order_id == order.id,
                                                                  Notification.store_id == order.store_id)
                                       .order_by(Notification.id.desc())).all()
    statuses = vocabulary.INVOICE_STATUSES if order.kind == "invoice" else vocabulary.ORDER_STATUSES
    return render_template("orders/detail.html", order=order, history=history, notifications=notifications,
                           vocabulary=vocabulary, statuses=statuses, channels=rule_channels(), error=error,
                           form=form or {"status": order.status, "channels": [c.code for c in rule_channels()]},
                           send_token=(form or {}).get("send_token") or uuid.uuid4().hex), status


@bp.get("/<int:order_id>")
@require(VIEW_ORDERS)
def detail(order_id: int):
    return _detail(store_order_or_404(order_id))


@bp.post("/<int:order_id>/send")
@require(SEND_NOTIFICATIONS)
def send(order_id: int):
    order = store_order_or_404(order_id)
    form = {"status": request.form.get("status", ""), "channels": request.form.getlist("channels"),
            "note": request.form.get("note", ""), "reason": request.form.get("reason", ""),
            "send_token": request.form.get("send_token", "")}
    try:
        rows = send_manual(current_user.store, order, current_user, form["status"], form["channels"],
                           form["note"], form["reason"], form["send_token"])
    except AlreadySent as error:
        flash(str(error), "info")
        return redirect(url_for("orders.detail", order_id=order.id))
    except ManualSendError as error:
        return _detail(order, 400, str(error), form)
    queued = sum(1 for row in rows if row.status == "pending")
    flash(f"{queued} message(s) queued; {len(rows) - queued} could not be sent (see below).", "success")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/notifications/<int:notification_id>/resend")
@require(SEND_NOTIFICATIONS)
def resend_notification(notification_id: int):
    original = db.session.scalar(select(Notification).where(Notification.id == notification_id,
                                                            Notification.store_id == current_user.store_id))
    if original is None:
        abort(404)
    try:
        copy = resend(current_user.store, original, current_user, request.form.get("reason", ""))
    except ManualSendError as error:
        flash(f"Not resent: {error}", "error")
        return redirect(url_for("activity.detail", notification_id=notification_id)), 303
    flash(f"Resent as notification #{copy.id}.", "success")
    return redirect(url_for("activity.detail", notification_id=copy.id)), 303
