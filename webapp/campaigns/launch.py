"""Launching a campaign: everything that would make it fail is refused first, with the field at
fault (an empty segment, a template error, no content in the store's language, a channel with no
provider, a moment in the past), and nothing is queued; then it is scheduled and its pump is
queued for the moment it starts. A test to oneself goes through the channel's first provider."""
from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from webapp.accounts.models import Store
from webapp.audit.models import record
from webapp.campaigns.audience import EXCLUSION_LABELS, members
from webapp.campaigns.campaign_input import parse
from webapp.campaigns.campaign_store import input_of
from webapp.campaigns.models import EDITABLE, SCHEDULED, Campaign
from webapp.campaigns.pump_queue import enqueue_pump
from webapp.campaigns.render import CampaignRenderer, Person
from webapp.campaigns.schedule import start_at, zone
from webapp.campaigns.segment_rules import Problem
from webapp.campaigns.segment_store import get_segment, rules_of
from webapp.channels.models import ProviderConfig
from webapp.channels.test_sends import TestOutcome, send_rendered_test
from webapp.extensions import db
from webapp.notifications.plan_requests import store_info
from webapp.templating.resolve import normalize_locale
from webapp.timeutil import utcnow

# A send_at this far in the past is taken for "now" (a form submitted slowly), beyond it refused.
PAST_GRACE = timedelta(minutes=1)
LATEST_OFFSET = timedelta(hours=12)  # UTC-12, where a wall-clock hour arrives last


def launch(store: Store, campaign: Campaign, *, production: bool = False, user_id: int | None = None,
           now: datetime | None = None, checked: bool = False) -> list[Problem]:
    """Schedule the campaign (to start now or at send_at); [] when it was, else why not. `checked`:
    the caller has just run launch_problems on it (an edit saved with edit_checks)."""
    now = now or utcnow()
    if campaign.status not in EDITABLE:
        return [Problem("status", f"the campaign is {campaign.status}; only a draft can be sent")]
    problems = [] if checked else launch_problems(store, campaign, production=production, now=now)
    if problems:
        return problems
    starts = start_at(campaign.send_at, campaign.local_time, zone(store.timezone), now)
    campaign.status = SCHEDULED
    campaign.status_reason = None if starts <= now else f"starts {starts:%Y-%m-%d %H:%M} UTC"
    record(store.id, user_id, "campaign.launched", campaign.name,
           new={"id": campaign.id, "starts": starts.isoformat(timespec="minutes")})
    db.session.commit()
    enqueue_pump(campaign.id, delay_seconds=max(0.0, (starts - now).total_seconds()))
    return []


def edit_checks(store: Store, campaign: Campaign, *, production: bool, launching: bool = False):
    """What an edit must still pass: the launch checks once scheduled, or when it is being sent."""
    if campaign.status != SCHEDULED and not launching:
        return None
    return lambda edited: launch_problems(store, edited, production=production, now=utcnow())


def launch_problems(store: Store, campaign: Campaign, *, production: bool, now: datetime) -> list[Problem]:
    parsed, problems = parse(input_of(campaign), store.timezone or "UTC")
    if problems:
        return problems
    default = normalize_locale(store.default_locale) or "en"
    if default not in parsed.content and default.split("-")[0] not in parsed.content:
        problems.append(Problem(f"content.{default}", f"no content in the store's language ({default}): "
                                                      "recipients whose language has none would get nothing"))
    if parsed.send_at is not None and _past_everywhere(parsed.send_at, parsed.local_time, store, now):
        problems.append(Problem("send_at", f"send_at {parsed.send_at:%Y-%m-%d %H:%M} UTC is in the past"))
    if not _has_provider(store.id, campaign.channel, production):
        problems.append(Problem("channel", f"no {campaign.channel} provider is set up: add one under Providers"))
    problems += _segment_problems(store, campaign)
    return problems


def _past_everywhere(send_at: datetime, local_time: bool, store: Store, now: datetime) -> bool:
    """A plain schedule is past when its moment is; a local-time one when its hour has passed in
    the last zone on Earth too (UTC-12)."""
    if not local_time:
        return send_at < now - PAST_GRACE
    latest = send_at.astimezone(zone(store.timezone)).replace(tzinfo=UTC) + LATEST_OFFSET
    return latest < now - PAST_GRACE


def _has_provider(store_id: int, channel: str, production: bool) -> bool:
    """An enabled provider account; outside production the sandbox catches what has none."""
    configured = db.session.scalar(select(func.count()).select_from(ProviderConfig).where(
        ProviderConfig.store_id == store_id, ProviderConfig.channel == channel, ProviderConfig.enabled.is_(True)))
    return bool(configured) or not production


def _segment_problems(store: Store, campaign: Campaign) -> list[Problem]:
    segment = get_segment(store.id, campaign.segment_id) if campaign.segment_id else None
    if segment is None:
        return [Problem("segment_id", "choose one of the store's segments")]
    # The first reachable customer settles it: the send walks the whole segment again when it
    # starts, so launching a campaign to 100,000 need not count them all first.
    excluded, matched = Counter(), 0
    for member in members(store.id, *rules_of(segment), campaign.channel):
        if not member.excluded:
            return []
        matched += 1
        excluded[member.excluded] += 1
    why = ", ".join(f"{EXCLUSION_LABELS[reason]} {count}" for reason, count in excluded.items())
    return [Problem("segment_id", f"“{segment.name}” reaches no one by {campaign.channel}: "
                                  f"{matched} matched" + (f" ({why})" if why else ""))]


def send_test(store: Store, campaign: Campaign, address: str, *, user_id: int | None = None,
              name: str = "", public_base_url: str = "", locale: str | None = None,
              context: Callable[[], AbstractContextManager] = contextlib.nullcontext) -> TestOutcome:
    """The campaign as a recipient in `locale` (the store's by default) would get it, to `address`.
    `context` is entered by the thread that calls the provider (the app's, from a view). Raises
    TestAddressError for an address the channel cannot take."""
    chosen = normalize_locale(locale) or normalize_locale(store.default_locale) or "en"
    fields = campaign.content.get(chosen) or next(iter(campaign.content.values()))
    renderer = CampaignRenderer(store.id, store_info(store), campaign.channel, campaign.utm,
                                (campaign.sender or {}).get("reply_to"))
    output = renderer.message(fields, chosen, Person(0, name, address if campaign.channel == "email" else ""))
    subject = f"[Test] {output.subject}" if output.subject else None
    return send_rendered_test(store.id, campaign.channel, address, subject, output.body, user_id,
                              what=f"campaign “{campaign.name}”", context=context, public_base_url=public_base_url)
