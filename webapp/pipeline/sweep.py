"""The periodic sweep every worker runs: whatever lost its job (Redis restarted empty, a worker
killed, Redis down at enqueue time) is enqueued again: notifications, BigCommerce events waiting
for their order, and escalation alerts still collecting."""
from __future__ import annotations

from webapp.dispatch.escalation import sweep_alerts
from webapp.dispatch.recovery import sweep_notifications
from webapp.pipeline.bigcommerce_fetch import sweep_waiting_events
from webapp.runtime import RuntimeSettings


def sweep(settings: RuntimeSettings) -> int:
    """Re-enqueue everything stranded; returns how many jobs were enqueued."""
    return sweep_notifications(settings) + sweep_waiting_events(settings) + sweep_alerts(settings)
