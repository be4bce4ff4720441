"""Campaign jobs: the pump that moves a campaign forward (webapp/campaigns/pump.py)."""
from __future__ import annotations

from jobs.appcontext import runtime_settings, with_app_context
from webapp.campaigns.pump import pump


@with_app_context
def pump_campaign(campaign_id: int) -> str:
    return pump(campaign_id, runtime_settings())
