"""Each provider's recent health, read from the outbox's timeline: sends and failures of the last
seven days per channel × provider, and the most recent error. Lives with dispatch because it is
a view of dispatch's own record; the Providers page shows it beside each account."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp.dispatch.models import Notification, NotificationEvent
from webapp.extensions import db
from webapp.timeutil import utcnow

HEALTH_DAYS = 7
# Attempt events that are not a provider failing: the breaker skipping it, or an address it does
# not serve (RecipientNotServed, which delivery deliberately does not count against it).
_NOT_A_FAILURE = ("% skipped: paused after repeated failures", "not for this provider:%")


@dataclass(frozen=True)
class ProviderHealth:
    sent: int = 0
    failed: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def attempts(self) -> int:
        return self.sent + self.failed

    @property
    def success_rate(self) -> int | None:
        """Whole percent, rounded down so a single failure never shows as 100%."""
        return None if not self.attempts else self.sent * 100 // self.attempts


def _failure_filter():
    return [NotificationEvent.kind == "attempt",
            *(NotificationEvent.detail.not_like(pattern) for pattern in _NOT_A_FAILURE)]


def provider_health(store_id: int, now: datetime | None = None) -> dict[tuple[str, str], ProviderHealth]:
    """Sent events (successes) and attempt events (failures) of the last seven days per
    (channel, provider), with each one's most recent error."""
    since = (now or utcnow()) - timedelta(days=HEALTH_DAYS)
    scope = [Notification.store_id == store_id, NotificationEvent.at >= since,
             # Lets the (store_id, created_at) index narrow the scan; a message's attempts all fall
             # within a day of its creation (retries back off for minutes, not days).
             Notification.created_at >= since - timedelta(days=1)]
    joined = select(Notification.channel, NotificationEvent.provider).join(
        Notification, Notification.id == NotificationEvent.notification_id)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    sent = db.session.execute(
        joined.add_columns(func.count()).where(*scope, NotificationEvent.kind == "sent",
                                               NotificationEvent.provider.is_not(None))
        .group_by(Notification.channel, NotificationEvent.provider))
    for channel, provider, count in sent:
        counts.setdefault((channel, provider), {})["sent"] = count
    failed = db.session.execute(
        joined.add_columns(func.count(), func.max(NotificationEvent.id))
        .where(*scope, *_failure_filter(), NotificationEvent.provider.is_not(None))
        .group_by(Notification.channel, NotificationEvent.provider)).all()
    last_ids = {}
    for channel, provider, count, last_id in failed:
        counts.setdefault((channel, provider), {})["failed"] = count
        last_ids[last_id] = (channel, provider)
    last = {}
    if last_ids:
        for event in db.session.scalars(select(NotificationEvent).where(NotificationEvent.id.in_(last_ids))):
            last[last_ids[event.id]] = event
    result = {}
    for key, numbers in counts.items():
        event = last.get(key)
        result[key] = ProviderHealth(numbers.get("sent", 0), numbers.get("failed", 0),
                                     event.detail if event else None, event.at if event else None)
    return result


