"""Delivering one notification: claim it, send through the channel's provider chain, record.

At-least-once, made exactly-once where it counts: a row is claimed with a conditional UPDATE
(pending/retrying → sending), so a duplicated or retried job finds nothing to do; the
provider receives the notification's idempotency key, so a resend after a crash mid-call is
recognised by providers that honour it (the sandbox and webhook providers do).
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta

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


# A batch stops taking new messages after this long and hands the rest back to the queue, so a
# claimed row is never still waiting in a live job when the sweep considers it abandoned.
BATCH_BUDGET_SECONDS = 20.0


def claim(ids: list[int]) -> list[m.Notification]:
    """Atomically take the rows that are still open (pending/retrying); a duplicated or late job
    gets nothing. One UPDATE ... RETURNING for the whole batch."""
    rows = db.session.scalars(
        update(m.Notification)
        .where(m.Notification.id.in_(ids), m.Notification.status.in_((m.PENDING, m.RETRYING)))
        .values(status=m.SENDING, claimed_at=utcnow(), attempts=m.Notification.attempts + 1)
        .returning(m.Notification)
        # Refresh rows this session already holds (objects outlive commits here).
        .execution_options(synchronize_session=False, populate_existing=True)
    ).all()
    db.session.commit()
    return sorted(rows, key=lambda row: row.id)


def deliver_batch(ids: list[int]) -> dict[str, int]:
    """Deliver a job's notifications; returns how many ended in each status."""
    outcomes: dict[str, int] = {}
    rows = claim(ids)
    deadline = time.monotonic() + BATCH_BUDGET_SECONDS
    chains: dict[tuple[int, str], list] = {}
    for index, row in enumerate(rows):
        if time.monotonic() > deadline:
            _hand_back(rows[index:])
            outcomes["handed-back"] = len(rows) - index
            break
        key = (row.store_id, row.channel)
        if key not in chains:
            chains[key] = provider_chain(*key)
        try:
            status = _deliver_claimed(row, chains[key])
        except Exception:
            # One broken row must not strand the rest of the batch; the sweep retries it later.
            db.session.rollback()
            log.exception("delivering notification %s failed unexpectedly", row.id)
            status = "error"
        outcomes[status] = outcomes.get(status, 0) + 1
    skipped = len(ids) - len(rows)
    if skipped:
        outcomes["not-open"] = skipped
    return outcomes


def _hand_back(rows: list[m.Notification]) -> None:
    ids = [row.id for row in rows]
    db.session.execute(update(m.Notification).where(m.Notification.id.in_(ids), m.Notification.status == m.SENDING)
                       .values(status=m.PENDING).execution_options(synchronize_session=False))
    db.session.commit()
    enqueue_ids(rows[0].priority, ids, detail="handed back: the batch ran out of time")


def _deliver_claimed(row: m.Notification, chain: list) -> str:
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
    return _finish(row, m.SENT, None, kind="sent", provider=code,
                   detail=f"accepted by {code}, id {result.provider_message_id}")


def _transient(row: m.Notification, code: str, error: TransientProviderError) -> str:
    policy = retry_policy()
    label = "rate limited" if isinstance(error, RateLimitedError) else "temporary failure"
    _event(row, "attempt", f"{label}: {error}", code)
    if row.provider_attempts >= policy.attempts_per_provider:
        return "next-provider"
    delay = policy.delay(row.provider_attempts, getattr(error, "retry_after", None))
    row.status, row.error = m.RETRYING, f"{code}: {error}"
    row.next_attempt_at = utcnow() + timedelta(seconds=delay)
    _event(row, "retry", f"retry {row.provider_attempts + 1} in {delay:.1f}s", code)
    db.session.commit()
    enqueue_ids(row.priority, [row.id], delay_seconds=delay, detail=f"retry in {delay:.1f}s")
    return m.RETRYING


def _finish(row: m.Notification, status: str, error: str | None, *, kind: str, provider: str | None = None,
            detail: str = "") -> str:
    row.status, row.error, row.finished_at = status, error, utcnow()
    _event(row, kind, detail or error or "", provider)
    db.session.commit()
    return status


def _event(row: m.Notification, kind: str, detail: str, provider: str | None = None) -> None:
    # Added by id, not through row.events, which would load the whole timeline first.
    db.session.add(m.NotificationEvent(notification_id=row.id, kind=kind, detail=detail[:2000], provider=provider,
                                       at=utcnow()))
