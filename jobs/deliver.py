"""Delivery jobs. One job carries a batch of notification ids of one priority class."""
from __future__ import annotations

from jobs.appcontext import runtime_settings, with_app_context
from webapp.dispatch.delivery import deliver_batch


@with_app_context
def deliver_notifications(notification_ids: list[int]) -> dict[str, int]:
    return deliver_batch(notification_ids, runtime_settings())
