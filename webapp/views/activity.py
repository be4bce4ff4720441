"""Activity: every notification of the store, filterable, and each one's timeline and exact content."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from webapp import vocabulary
from webapp.accounts.permissions import VIEW_ACTIVITY
from webapp.channels.providers.registry import providers
from webapp.channels.registry import channels
from webapp.channels.sms_segments import GSM7, UCS2, sms_size
from webapp.customers.models import Customer
from webapp.dispatch.models import STATUSES, Notification
from webapp.extensions import db
from webapp.orders.models import Order
from webapp.views import render_page, require
from webapp.views.read.activity import FilterError, orders_and_customers, parse_filters, query_notifications
from webapp.views.read.labels import RECEIPT_EVENT_LABELS, message_type_label

bp = Blueprint("activity", __name__)

# What each timeline entry (NotificationEvent.kind) means to a person reading it.
EVENT_LABELS = {
    "planned": "Planned", "queued": "Queued", "started": "Attempt started", "attempt": "Attempt",
    "retry": "Retry scheduled",
    "sent": "Sent", "delivered": "Delivered", "failed": "Failed", "suppressed": "Suppressed",
    "skipped": "Skipped", **RECEIPT_EVENT_LABELS,
}
ENCODING_LABELS = {GSM7: "GSM-7", UCS2: "UCS-2 (Unicode)"}


def message_type_choices() -> list[tuple[str, str]]:
    codes = [f"{vocabulary.ORDER}.{s.code}" for s in vocabulary.ORDER_STATUSES]
    codes += [f"{vocabulary.INVOICE}.{s.code}" for s in vocabulary.INVOICE_STATUSES]
    return [(code, message_type_label(code)) for code in codes]


@bp.get("/activity")
@require(VIEW_ACTIVITY)
def index():
    context = {"form": request.args, "statuses": STATUSES, "channels": channels(),
               "sources": vocabulary.ORDER_SOURCES, "message_types": message_type_choices(), "vocabulary": vocabulary}
    try:
        filters = parse_filters(request.args)
    except FilterError as error:
        return _render(400, error=str(error), rows=[], next_before=None, filters=None, **context)
    rows, next_before = query_notifications(db.session, current_user.store_id, filters)
    orders, customers = orders_and_customers(db.session, current_user.store_id, rows)
    return _render(200, error=None, rows=rows, next_before=next_before, filters=filters, orders=orders,
                   customers=customers, **context)


def _render(status: int, **context):
    return render_page("activity/index.html", "activity/_results.html", status, **context)


@bp.get("/activity/<int:notification_id>")
@require(VIEW_ACTIVITY)
def detail(notification_id: int):
    store_id = current_user.store_id
    notification = db.session.scalar(select(Notification).where(Notification.id == notification_id,
                                                                Notification.store_id == store_id))
    if notification is None:
        abort(404)
    order = customer = None
    if notification.order_id:
        order = db.session.scalar(select(Order).where(Order.id == notification.order_id, Order.store_id == store_id))
    if notification.customer_id:
        customer = db.session.scalar(select(Customer).where(Customer.id == notification.customer_id,
                                                            Customer.store_id == store_id))
    sms = sms_size(notification.body or "") if notification.channel == "sms" else None
    return render_template("activity/detail.html", notification=notification, order=order, customer=customer,
                           sms=sms, encoding_labels=ENCODING_LABELS, event_labels=EVENT_LABELS, vocabulary=vocabulary,
                           maybe_twice=may_have_arrived_twice(notification))


def may_have_arrived_twice(notification: Notification) -> str | None:
    """The provider's name when the message was sent after more than one started attempt through a
    provider that cannot drop a repeat (a worker killed mid-call may have left the first delivered)."""
    started = sum(1 for event in notification.events if event.kind == "started")
    spec = getattr(providers().get(notification.provider or ""), "spec", None)
    if started < 2 or notification.status not in ("sent", "delivered") or (spec is not None and spec.deduplicates):
        return None
    return spec.label if spec is not None else notification.provider
