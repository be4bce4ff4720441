"""Delivery jobs. One job carries a batch of notification ids of one priority class."""
from __future__ import annotations

import logging

from jobs.appcontext import with_app_context
from webapp.extensions import db
from webapp.notifications.delivery import deliver

log = logging.getLogger(__name__)


@with_app_context
def deliver_notifications(notification_ids: list[int]) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for notification_id in notification_ids:
        try:
            status = deliver(notification_id)
        except Exception:
            # One broken row must not strand the rest of the batch; the sweep will retry it.
            db.session.rollback()
            log.exception("delivering notification %s failed unexpectedly", notification_id)
            status = "error"
        outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes
