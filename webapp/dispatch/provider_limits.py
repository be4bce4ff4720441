"""Provider accounts' sending limits at send time, for a claimed batch (webapp/channels/rate_limit.py).

Rows are grouped by the account they would go out on: the enabled chain entry at the row's
provider_index, as provider_chain orders it. A group of marketing takes what its account's
limiter grants and the rest go back to pending ("held: provider limit 600 a minute; resumes in
12 s") with a job for when a slot frees; critical and transactional rows are never held, only
counted, so a campaign sees the account's true usage and never slows a password reset. After the
batch every grant is settled: its sends count from when the last one left, and the rows handed
back unsent are given back. One query per batch; rows through accounts without limits cost no
Redis call.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update

from webapp.channels import rate_limit
from webapp.channels.models import ProviderConfig
from webapp.channels.rate_limit import Grant, Limit
from webapp.consent.policy import MARKETING
from webapp.dispatch import models as m
from webapp.dispatch.queueing import enqueue_ids
from webapp.extensions import db
from webapp.timeutil import utcnow

# A held row comes back no sooner than this: the scheduler moves jobs about once a second anyway.
MIN_HOLD_SECONDS = 0.5


@dataclass
class _Grant:
    key: str
    limits: list[Limit]
    grant: Grant
    ids: list[int]  # the rows it let through


@dataclass
class Admission:
    rows: list[m.Notification]  # to send now
    held: int = 0
    grants: list[_Grant] = field(default_factory=list)

    def settle(self) -> None:
        """After the batch: what went out counts from now, and rows handed back unsent (pending
        again) give their slots back. One query, only when something was limited."""
        if not self.grants:
            return
        ids = [row_id for entry in self.grants for row_id in entry.ids]
        unsent = set(db.session.scalars(select(m.Notification.id).where(
            m.Notification.id.in_(ids), m.Notification.status == m.PENDING))) if ids else set()
        for entry in self.grants:
            rate_limit.settle(entry.key, entry.limits, entry.grant, sum(i not in unsent for i in entry.ids))


def admit(rows: list[m.Notification]) -> Admission:
    """The rows to send now; marketing over its account's limits is held and left out."""
    chains = _limited_chains(rows) if rows else {}
    groups: dict[int, list[m.Notification]] = {}
    limits_of: dict[int, list[Limit]] = {}
    for row in rows:
        chain = chains.get((row.store_id, row.channel), [])
        if row.provider_index < len(chain) and chain[row.provider_index][1]:
            config_id, limits_of[config_id] = chain[row.provider_index]
            groups.setdefault(config_id, []).append(row)
    admission = Admission(rows)
    held: list[tuple[Grant, list[m.Notification]]] = []
    for config_id, group in groups.items():
        key, limits = f"provider:{config_id}", limits_of[config_id]
        urgent = [row for row in group if row.priority != MARKETING]
        if urgent:  # counted first, so the marketing below sees them
            admission.grants.append(_Grant(key, limits, rate_limit.record(key, limits, len(urgent)),
                                           [row.id for row in urgent]))
        marketing = [row for row in group if row.priority == MARKETING]
        if marketing:
            grant = rate_limit.acquire(key, limits, len(marketing))
            admission.grants.append(_Grant(key, limits, grant, [row.id for row in marketing[:grant.granted]]))
            if grant.granted < len(marketing):
                held.append((grant, marketing[grant.granted:]))
    if held:
        _hold(held)
        left_out = {row.id for _, group in held for row in group}
        admission.rows = [row for row in rows if row.id not in left_out]
        admission.held = len(left_out)
    return admission


def _limited_chains(rows: list[m.Notification]) -> dict[tuple[int, str], list[tuple[int, list[Limit]]]]:
    """(store, channel) → each enabled account in failover order with its limits (maybe none)."""
    PC = ProviderConfig
    found = db.session.execute(
        select(PC.id, PC.store_id, PC.channel, PC.rate_limits)
        .where(PC.store_id.in_({row.store_id for row in rows}), PC.channel.in_({row.channel for row in rows}),
               PC.enabled.is_(True))
        .order_by(PC.store_id, PC.channel, PC.position, PC.id))
    chains: dict[tuple[int, str], list[tuple[int, list[Limit]]]] = {}
    for config_id, store_id, channel, raw in found:
        # Saved limits were validated (accounts.set_rate_limits); one edited by hand into nonsense limits nothing.
        limits, _ = rate_limit.parse_limits(raw)
        chains.setdefault((store_id, channel), []).append((config_id, limits))
    return chains


def _hold(held: list[tuple[Grant, list[m.Notification]]]) -> None:
    """Back to pending with a job for when a slot frees. The claim's "attempt N started" entry becomes
    the hold: no attempt started, and a second one later must not read as a possible duplicate."""
    now, E = utcnow(), m.NotificationEvent
    jobs = []
    for grant, group in held:
        why, delay = _why(grant), max(grant.retry_after, MIN_HOLD_SECONDS)
        jobs.append(([row.id for row in group], delay, why))
        for row in group:
            row.status, row.error, row.lease_owner, row.lease_expires_at = m.PENDING, why, None, None
            row.next_attempt_at = now + timedelta(seconds=delay)
            row.attempts -= 1
        for claimed_at in {row.claimed_at for row in group}:
            db.session.execute(
                update(E).where(E.notification_id.in_([row.id for row in group if row.claimed_at == claimed_at]),
                                E.kind == "started", E.at == claimed_at)
                .values(kind="held", detail=why.removeprefix("held: ")).execution_options(synchronize_session=False))
    db.session.commit()
    for ids, delay, why in jobs:
        enqueue_ids(MARKETING, ids, delay_seconds=delay, detail=why)


def _why(grant: Grant) -> str:
    if grant.limited_by is None:  # Redis did not answer: nothing could be counted
        return f"held: provider limit could not be checked; tries again in {_wait(grant.retry_after)}"
    return f"held: provider limit {grant.limited_by.describe()}; resumes in {_wait(grant.retry_after)}"


def _wait(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"
