"""Saving and reading a store's campaigns. Only a draft or a scheduled campaign can be edited; a
scheduled one goes back through the launch checks when it is (the caller passes them: launch.py)."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from webapp.accounts.models import Store
from webapp.audit.models import record
from webapp.campaigns.campaign_input import CampaignInput, parse
from webapp.campaigns.models import CANCELLED, EDITABLE, PAUSED, Campaign
from webapp.campaigns.segment_rules import Problem
from webapp.campaigns.segment_store import get_segment
from webapp.extensions import db


def create_campaign(store: Store, data: object, user_id: int | None = None) -> tuple[Campaign | None, list[Problem]]:
    """A new draft, or (None, the problems): nothing is written when any field is wrong."""
    parsed, problems = _checked(store, data)
    if problems:
        return None, problems
    campaign = Campaign(store_id=store.id, created_by=user_id)
    _assign(campaign, parsed)
    db.session.add(campaign)
    db.session.flush()
    record(store.id, user_id, "campaign.created", campaign.name, new={"id": campaign.id, "channel": campaign.channel})
    db.session.commit()
    return campaign, []


def update_campaign(store: Store, campaign: Campaign, data: object, user_id: int | None = None,
                    checks: Callable[[Campaign], list[Problem]] | None = None) -> list[Problem]:
    """Save the edit, or change nothing and answer the problems. `checks` runs on the edited
    campaign before the commit: a scheduled one must still pass the launch checks (launch.py)."""
    if campaign.status not in EDITABLE:
        return [Problem("status", f"a {campaign.status} campaign can no longer be edited")]
    parsed, problems = _checked(store, data)
    if problems:
        return problems
    _assign(campaign, parsed)
    problems = checks(campaign) if checks else []
    if problems:
        db.session.rollback()
        db.session.refresh(campaign)
        return problems
    record(store.id, user_id, "campaign.updated", campaign.name, new={"id": campaign.id})
    db.session.commit()
    return []


def transition(campaign: Campaign, expected: tuple[str, ...], *conditions, **values) -> bool:
    """Change the campaign only if it is still in one of `expected` (and `conditions` hold), in one
    UPDATE: the pump and staff (pause, cancel, resend) never overwrite each other's change. The
    UPDATE also holds the row (PostgreSQL) or the database (SQLite) until the caller commits, so a
    pause waits for a chunk being written and then takes it back."""
    changed = db.session.execute(
        update(Campaign).where(Campaign.id == campaign.id, Campaign.status.in_(expected), *conditions)
        .values(**values).execution_options(synchronize_session=False)).rowcount
    for name, value in values.items() if changed else ():
        set_committed_value(campaign, name, value)  # the object says so too, without a second write
    return bool(changed)


def stopped_campaigns(campaign_ids: set[int]) -> dict[int, str]:
    """Which of these campaigns are paused or cancelled (for the send-time check)."""
    if not campaign_ids:
        return {}
    return dict(db.session.execute(select(Campaign.id, Campaign.status).where(
        Campaign.id.in_(campaign_ids), Campaign.status.in_((PAUSED, CANCELLED)))).all())


def get_campaign(store_id: int, campaign_id: int) -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.store_id == store_id, Campaign.id == campaign_id))


def list_campaigns(store_id: int, limit: int = 100) -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).where(Campaign.store_id == store_id)
                                   .order_by(Campaign.id.desc()).limit(limit)))


def input_of(campaign: Campaign) -> dict:
    """The campaign's fields as the API takes them (to edit, or to check again at launch)."""
    return {"name": campaign.name, "channel": campaign.channel, "segment_id": campaign.segment_id,
            "content": campaign.content, "send_at": campaign.send_at.isoformat() if campaign.send_at else None,
            "local_time": campaign.local_time, "send_window": campaign.send_window,
            "rate_limits": campaign.rate_limits, "sender": campaign.sender, "utm": campaign.utm,
            "ab_test": campaign.ab_test}


def _checked(store: Store, data: object) -> tuple[CampaignInput, list[Problem]]:
    parsed, problems = parse(data, store.timezone or "UTC")
    if parsed.segment_id is not None and get_segment(store.id, parsed.segment_id) is None:
        problems.append(Problem("segment_id", f"the store has no segment {parsed.segment_id}"))
    return parsed, problems


def _assign(campaign: Campaign, parsed: CampaignInput) -> None:
    campaign.name, campaign.channel, campaign.segment_id = parsed.name, parsed.channel, parsed.segment_id
    campaign.content, campaign.send_at, campaign.local_time = parsed.content, parsed.send_at, parsed.local_time
    campaign.send_window = parsed.send_window.as_json() if parsed.send_window else None
    campaign.rate_limits, campaign.sender, campaign.utm = parsed.rate_limits, parsed.sender, parsed.utm
    campaign.ab_test = parsed.ab_test
