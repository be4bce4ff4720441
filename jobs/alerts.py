"""Escalation alert jobs: one per group of notifications that failed on every provider."""
from __future__ import annotations

from jobs.appcontext import runtime_settings, with_app_context
from webapp.dispatch.escalation import send_alert as _send_alert


@with_app_context
def send_alert(alert_id: int) -> str:
    return _send_alert(alert_id, runtime_settings())
