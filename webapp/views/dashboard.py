"""The signed-in home page: where the store stands at a glance."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.notifications.models import NotificationRule
from webapp.orders.models import Order

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    store_id = current_user.store_id
    active_rules = db.session.scalar(
        select(func.count()).select_from(NotificationRule)
        .where(NotificationRule.store_id == store_id, NotificationRule.active.is_(True))
    )
    orders = db.session.scalar(select(func.count()).select_from(Order).where(Order.store_id == store_id))
    return render_template("dashboard/index.html", active_rules=active_rules, orders=orders)
