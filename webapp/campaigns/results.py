"""What a campaign did, read from its recipients and their current notifications: progress while
sending (queued, sent, delivered, failed, suppressed with reasons, an estimate of the time left)
and results after (bounced, complained, unsubscribed, opened and clicked, from provider events),
the A/B comparison, and sends and engagement over time for the chart."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp.campaigns.models import EXCLUDED, QUEUED, WAITING, Campaign, CampaignRecipient
from webapp.dispatch import models as m
from webapp.extensions import db
from webapp.timeutil import utcnow

ENGAGEMENT = ("opened", "clicked", "bounced", "complained", "unsubscribed")
_DATE = re.compile(r"\s+\d{4}-\d{2}-\d{2}$")
RATE_WINDOW = timedelta(seconds=60)


@dataclass
class Progress:
    total: int = 0  # recipients frozen, excluded included
    waiting: int = 0  # not yet queued (not due, rate-limited, paused)
    queued: int = 0  # queued or being sent
    sent: int = 0  # accepted by the provider, no receipt yet
    delivered: int = 0
    failed: int = 0
    suppressed: int = 0
    excluded: int = 0
    reasons: Counter = field(default_factory=Counter)  # why excluded or suppressed
    per_minute: float = 0.0  # recent sending rate
    seconds_left: float | None = None

    @property
    def eligible(self) -> int:
        return self.total - self.excluded

    @property
    def finished(self) -> int:
        return self.sent + self.delivered + self.failed + self.suppressed

    @property
    def percent(self) -> int:
        if not self.eligible:  # nobody frozen yet (not started), or nobody reachable after all
            return 100 if self.total else 0
        return min(100, round(100 * self.finished / self.eligible))

    def as_dict(self) -> dict:
        return {"total": self.total, "eligible": self.eligible, "waiting": self.waiting, "queued": self.queued,
                "sent": self.sent, "delivered": self.delivered, "failed": self.failed, "suppressed": self.suppressed,
                "excluded": self.excluded, "reasons": dict(self.reasons.most_common()), "percent": self.percent,
                "per_minute": round(self.per_minute, 1),
                "seconds_left": round(self.seconds_left) if self.seconds_left is not None else None}


def progress(campaign: Campaign, now: datetime | None = None) -> Progress:
    counted = Progress()
    R, N = CampaignRecipient, m.Notification
    rows = db.session.execute(
        select(R.status, N.status, func.coalesce(N.error, R.reason), func.count())
        .select_from(R).outerjoin(N, N.id == R.notification_id)
        .where(R.campaign_id == campaign.id).group_by(R.status, N.status, func.coalesce(N.error, R.reason)))
    for recipient_status, status, why, count in rows:
        counted.total += count
        if recipient_status == EXCLUDED:
            counted.excluded += count
            counted.reasons[why or "excluded"] += count
        elif recipient_status == WAITING or status is None:
            counted.waiting += count
        elif status in m.OPEN_STATUSES:
            counted.queued += count
        elif status == m.SENT:
            counted.sent += count
        elif status == m.DELIVERED:
            counted.delivered += count
        elif status == m.FAILED:
            counted.failed += count
        else:  # suppressed or skipped at send time
            counted.suppressed += count
            counted.reasons[_DATE.sub("", (why or "suppressed").removeprefix("suppressed: "))] += count
    _estimate(campaign, counted, now or utcnow())
    return counted


def _estimate(campaign: Campaign, counted: Progress, now: datetime) -> None:
    recent = db.session.scalar(select(func.count()).select_from(m.Notification).where(
        m.Notification.campaign_id == campaign.id, m.Notification.finished_at >= now - RATE_WINDOW))
    counted.per_minute = float(recent or 0) * 60 / RATE_WINDOW.total_seconds()
    left = counted.waiting + counted.queued
    if left == 0:
        counted.seconds_left = 0.0
    elif counted.per_minute:
        counted.seconds_left = left / counted.per_minute * 60


def engagement(campaign: Campaign) -> dict[str, int]:
    """How many of the campaign's messages were opened, clicked, bounced... (each message once)."""
    E, N = m.NotificationEvent, m.Notification
    rows = db.session.execute(
        select(E.kind, func.count(func.distinct(E.notification_id))).join(N, N.id == E.notification_id)
        .where(N.campaign_id == campaign.id, E.kind.in_(ENGAGEMENT)).group_by(E.kind))
    found = dict(rows.all())
    return {kind: int(found.get(kind, 0)) for kind in ENGAGEMENT}


def ab_counts(campaign: Campaign) -> dict[str, dict[str, int]]:
    """Per variant: sent, opened, clicked (the A/B test's evidence)."""
    E, N, R = m.NotificationEvent, m.Notification, CampaignRecipient
    counts = {variant: {"sent": 0, "opened": 0, "clicked": 0} for variant in ("A", "B")}
    sent = db.session.execute(select(R.variant, func.count()).where(
        R.campaign_id == campaign.id, R.variant.in_(("A", "B")), R.status == QUEUED).group_by(R.variant))
    for variant, count in sent:
        counts[variant]["sent"] = int(count)
    engaged = db.session.execute(
        select(R.variant, E.kind, func.count(func.distinct(E.notification_id)))
        .join(N, N.id == R.notification_id).join(E, E.notification_id == N.id)
        .where(R.campaign_id == campaign.id, R.variant.in_(("A", "B")), E.kind.in_(("opened", "clicked")))
        .group_by(R.variant, E.kind))
    for variant, kind, count in engaged:
        counts[variant][kind] = int(count)
    return counts


def ab_leader(campaign: Campaign) -> str:
    """The variant with more opens (or clicks) per message sent; A on a tie."""
    metric = "clicked" if (campaign.ab_test or {}).get("metric") == "clicks" else "opened"
    counts = ab_counts(campaign)

    def rate(variant: str) -> float:
        return counts[variant][metric] / counts[variant]["sent"] if counts[variant]["sent"] else 0.0

    return "B" if rate("B") > rate("A") else "A"


def timeline(campaign: Campaign, buckets: int = 30) -> dict:
    """Sends, opens and clicks over time in up to `buckets` equal steps, for the chart."""
    N, E = m.Notification, m.NotificationEvent
    sent = [at for (at,) in db.session.execute(select(N.sent_at).where(N.campaign_id == campaign.id,
                                                                        N.sent_at.is_not(None)))]
    events = db.session.execute(select(E.kind, E.at).join(N, N.id == E.notification_id).where(
        N.campaign_id == campaign.id, E.kind.in_(("opened", "clicked")))).all()
    moments = sent + [at for _, at in events]
    if not moments:
        return {"labels": [], "series": {"sent": [], "opened": [], "clicked": []}}
    start, end = min(moments), max(moments)
    step = max((end - start) / buckets, timedelta(seconds=1))
    count = max(2, min(buckets, int((end - start) / step) + 1))  # two points at least: a line, not a dot
    series = {"sent": [0] * count, "opened": [0] * count, "clicked": [0] * count}

    def slot(at: datetime) -> int:
        return min(count - 1, int((at - start) / step))

    for at in sent:
        series["sent"][slot(at)] += 1
    for kind, at in events:
        series[kind][slot(at)] += 1
    labels = [int((start + step * i).timestamp()) for i in range(count)]
    return {"labels": labels, "series": series}
