"""Delivering one notification: claim it, send through the channel's provider chain, record.

At-least-once, made exactly-once where it counts: a row is claimed with a conditional UPDATE
(pending/retrying → sending), so a duplicated or retried job finds nothing to do; the
provider receives the notification's idempotency key, so a resend after a crash mid-call is
recognised by providers that honour it (the sandbox and webhook providers do).
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import update

from webapp.channels.providers.base import (
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
)
from webapp.channels.providers.registry import provider_chain
from webapp.extensions import db
from webapp.notifications import models as m
from webapp.notifications.queueing import enqueue_ids
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts_per_provider: int = 4
    base_seconds: float = 2.0
    cap_seconds: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Exponential backoff with full jitter; a provider's Retry-After wins when longer."""
        backoff = random.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1)))
        return max(backoff, retry_after or 0)


def retry_policy() -> RetryPolicy:
    return RetryPolicy(base_seconds=current_app.config.get("RETRY_BASE_SECONDS", 2.0))


def claim(notification_id: int) -> m.Notification | None:
    claimed = db.session.execute(
        update(m.Notification)
        .where(m.Notification.id == notification_id, m.Notification.status.in_((m.PENDING, m.RETRYING)))
        .values(status=m.SENDING, claimed_at=utcnow(), attempts=m.Notification.attempts + 1)
    ).rowcount
    db.session.commit()
    return db.session.get(m.Notification, notification_id) if claimed else None


def deliver(notification_id: int) -> str:
    """Deliver one notification; returns its status afterwards (or 'skipped-not-open')."""
    row = claim(notification_id)
    if row is None:
        return "skipped-not-open"
    chain = provider_chain(row.store_id, row.channel)
    while row.provider_index < len(chain):
        code, provider = chain[row.provider_index]
        outcome = _attempt(row, code, provider)
        if outcome != "next-provider":
            return outcome
        row.provider_index += 1
        row.provider_attempts = 0
    return _finish(row, m.FAILED, "every provider of the channel failed", kind="failed")


def _attempt(row: m.Notification, code: str, provider) -> str:
    if isinstance(provider, Exception):
        _event(row, "attempt", f"{code} is misconfigured: {provider}", code)
        return "next-provider"
    message = OutboundMessage(row.id, row.store_id, row.channel, row.recipient, row.subject, row.body,
                              row.idempotency_key)
    row.provider_attempts += 1
    try:
        result = provider.send(message)
    except ProviderConfigError as error:
        _event(row, "attempt", f"configuration/auth error: {error}", code)
        return "next-provider"
    except TransientProviderError as error:
        return _transient(row, code, error)
    except PermanentProviderError as error:
        _event(row, "attempt", f"rejected: {error}", code)
        return _finish(row, m.FAILED, f"{code}: {error}", kind="failed")
    except ProviderError as error:
        _event(row, "attempt", str(error), code)
        return "next-provider"
    row.provider, row.provider_message_id = code, result.provider_message_id
    row.sent_at = utcnow()
    _event(row, "attempt", f"accepted, id {result.provider_message_id}", code)
    return _finish(row, m.SENT, None, kind="sent", provider=code)


def _transient(row: m.Notification, code: str, error: TransientProviderError) -> str:
    policy = retry_policy()
    label = "rate limited" if isinstance(error, RateLimitedError) else "temporary failure"
    _event(row, "attempt", f"{label}: {error}", code)
    if row.provider_attempts >= policy.attempts_per_provider:
        return "next-provider"
    delay = policy.delay(row.provider_attempts, getattr(error, "retry_after", None))
    row.status, row.error = m.RETRYING, f"{code}: {error}"
    row.next_attempt_at = utcnow()
    _event(row, "retry", f"retry {row.provider_attempts + 1} in {delay:.1f}s", code)
    db.session.commit()
    enqueue_ids(row.priority, [row.id], delay_seconds=delay, detail=f"retry in {delay:.1f}s")
    return m.RETRYING


def _finish(row: m.Notification, status: str, error: str | None, *, kind: str, provider: str | None = None) -> str:
    row.status, row.error, row.finished_at = status, error, utcnow()
    _event(row, kind, error or "", provider)
    db.session.commit()
    return status


def _event(row: m.Notification, kind: str, detail: str, provider: str | None = None) -> None:
    row.events.append(m.NotificationEvent(kind=kind, detail=detail[:2000], provider=provider, at=utcnow()))
