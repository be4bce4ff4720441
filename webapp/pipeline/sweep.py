"""The periodic sweep every worker runs: whatever lost its job (Redis restarted empty, a worker
killed, Redis down at enqueue time) is enqueued again: notifications, BigCommerce events waiting
for their order, escalation alerts still collecting, and campaigns whose pump went quiet."""
from __future__ import annotations

from webapp.campaigns.pump import stale_pumps
from webapp.campaigns.pump_queue import enqueue_pump
from webapp.dispatch.escalation import sweep_alerts
from webapp.dispatch.recovery import sweep_notifications
from webapp.pipeline.bigcommerce_fetch import sweep_waiting_events
from webapp.runtime import RuntimeSettings


def sweep(settings: RuntimeSettings) -> int:
    """Re-enqueue everything stranded; returns how many jobs were enqueued."""
    return (sweep_notifications(settings) + sweep_waiting_events(settings) + sweep_alerts(settings)
            + sweep_campaigns(settings))


def sweep_campaigns(settings: RuntimeSettings) -> int:
    return sum(enqueue_pump(campaign_id) for campaign_id in stale_pumps(settings))
