"""Orders, for support staff and owners."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.accounts.permissions import VIEW_ORDERS
from webapp.extensions import db
from webapp.notifications import catalog
from webapp.orders.models import Order
from webapp.views import require

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
    before = request.args.get("before", type=int)
    query = (select(Order).options(joinedload(Order.customer))
             .where(Order.store_id == current_user.store_id)
             .order_by(Order.id.desc()).limit(PAGE_SIZE + 1))
    if before:
        query = query.where(Order.id < before)
    orders = list(db.session.scalars(query))
    next_before = orders[PAGE_SIZE - 1].id if len(orders) > PAGE_SIZE else None
    return render_template("orders/index.html", orders=orders[:PAGE_SIZE], next_before=next_before,
                           catalog=catalog)


@bp.get("/<int:order_id>")
@require(VIEW_ORDERS)
def detail(order_id: int):
    return render_template("orders/detail.html", order=store_order_or_404(order_id), catalog=catalog)
