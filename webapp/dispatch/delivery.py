"""Delivering one notification: claim it, send through the channel's provider chain, record.

At-least-once, made exactly-once where it counts: a row is claimed with a conditional UPDATE
(pending/retrying → sending), so a duplicated or retried job finds nothing to do; the
provider receives the notification's idempotency key, so a resend after a crash mid-call is
recognised by providers that honour it (the sandbox and webhook providers do).
"""
from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, insert, select, update

from webapp.channels import circuit
from webapp.channels.providers.base import (
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    RateLimitedError,
    RecipientGone,
    RecipientNotServed,
    SendResult,
    TransientProviderError,
)
from webapp.channels.providers.batching import GroupingRules, content_groups
from webapp.channels.providers.registry import provider_chain
from webapp.consent.policy import MARKETING
from webapp.customers.models import CustomerDevice
from webapp.dispatch import escalation, marketing_gate, provider_limits
from webapp.dispatch import models as m
from webapp.dispatch.queueing import enqueue_ids, urgent_work_waiting
from webapp.extensions import db
from webapp.runtime import RuntimeSettings
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
# A marketing batch looks for waiting critical / transactional jobs before every this many messages.
YIELD_EVERY = 10
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # which process took a row, on the timeline


@dataclass(frozen=True)
class RetryPolicy:
    attempts_per_provider: int = 4
    base_seconds: float = 2.0
    cap_seconds: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Exponential backoff with full jitter; a provider's Retry-After wins when longer."""
        backoff = random.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1)))
        return max(backoff, retry_after or 0)


def retry_policy(settings: RuntimeSettings) -> RetryPolicy:
    return RetryPolicy(base_seconds=settings.retry_base_seconds)


def claim(ids: list[int], settings: RuntimeSettings) -> list[m.Notification]:
    """Atomically take the rows that are still open (pending/retrying); a duplicated or late job
    gets nothing. One UPDATE ... RETURNING for the whole batch.

    Each claimed row's timeline says "attempt N started on <worker>" in the same commit, before any
    provider is called: if the worker is killed mid-call and the row is sent again, both attempts
    show, and so does the chance that the customer got it twice.

    The claim is a lease (owner and expiry): the batch ends before it expires (see
    RuntimeSettings.lease_seconds), and the sweep takes only rows whose lease has expired."""
    now = utcnow()
    owner = f"{WORKER}/{uuid.uuid4().hex[:8]}"
    rows = db.session.scalars(
        update(m.Notification)
        .where(m.Notification.id.in_(ids), m.Notification.status.in_((m.PENDING, m.RETRYING)))
        .values(status=m.SENDING, claimed_at=now, attempts=m.Notification.attempts + 1, lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=settings.lease_seconds))
        .returning(m.Notification)
        # Refresh rows this session already holds (objects outlive commits here).
        .execution_options(synchronize_session=False, populate_existing=True)
    ).all()
    if rows:  # one multi-row INSERT, no ORM objects: this is on every delivery's path
        db.session.execute(insert(m.NotificationEvent), [
            {"notification_id": row.id, "kind": "started", "at": now, "provider": None,
             "detail": f"attempt {row.attempts} started on {WORKER}"} for row in rows])
    db.session.commit()
    return sorted(rows, key=lambda row: row.id)


def deliver_batch(ids: list[int], settings: RuntimeSettings) -> dict[str, int]:
    """Deliver a job's notifications; returns how many ended in each status."""
    outcomes: dict[str, int] = {}
    # Marketing over its provider account's limits is held; the rest is counted against them.
    admitted = provider_limits.admit(marketing_gate.gate(claim(ids, settings)))
    rows = admitted.rows
    # Stop taking new messages in time for the last one to finish inside the lease.
    deadline = time.monotonic() + settings.batch_budget_seconds
    chains: dict[tuple[int, str], list] = {}
    for row in rows:
        key = (row.store_id, row.channel)
        if key not in chains:
            chains[key] = provider_chain(*key, settings.public_base_url)
    # Campaign messages go out in provider batches first; whatever those leave unsent (failover,
    # a provider without a batch API) continues one by one below.
    done = _deliver_in_batches(rows, chains, outcomes, settings)
    remaining = [row for row in rows if row.id not in done]
    for index, row in enumerate(remaining):
        if time.monotonic() > deadline:
            _hand_back(remaining[index:])
            outcomes["handed-back"] = len(remaining) - index
            break
        # Not before the first message: each round makes progress however busy the urgent queues are.
        if row.priority == MARKETING and index and index % YIELD_EVERY == 0 and urgent_work_waiting():
            _hand_back(remaining[index:], "handed back: critical or transactional messages were waiting")
            outcomes["yielded"] = len(remaining) - index
            break
        try:
            status = _deliver_claimed(row, chains[(row.store_id, row.channel)], settings)
        except Exception:
            # One broken row must not strand the rest of the batch; the sweep retries it later.
            db.session.rollback()
            log.exception("delivering notification %s failed unexpectedly", row.id)
            status = "error"
        outcomes[status] = outcomes.get(status, 0) + 1
    admitted.settle()  # what went out counts from now; rows handed back unsent free their slots
    skipped = len(ids) - len(rows) - admitted.held
    if skipped:
        outcomes["not-open"] = skipped
    if admitted.held:
        outcomes["held"] = admitted.held
    return outcomes


def _deliver_in_batches(rows: list[m.Notification], chains: dict, outcomes: dict[str, int],
                        settings: RuntimeSettings) -> set[int]:
    """Send marketing rows through their current provider's batch API where it has one; returns the
    ids that reached a final or retrying state."""
    groups: dict[tuple[int, str, int], list[m.Notification]] = {}
    for row in rows:
        if row.priority != MARKETING:
            continue
        chain = chains[(row.store_id, row.channel)]
        if row.provider_index >= len(chain):
            continue
        code, provider = chain[row.provider_index]
        if isinstance(provider, Exception) or getattr(provider.spec, "max_batch", 1) < 2:
            continue
        groups.setdefault((row.store_id, row.channel, row.provider_index), []).append(row)
    done: set[int] = set()
    for (store_id, channel, index), group in groups.items():
        code, provider = chains[(store_id, channel)][index]
        if len(group) < 2 or not circuit.allow(store_id, channel, code, settings):
            continue
        limit = provider.spec.max_batch
        for start in range(0, len(group), limit):
            chunk = _shared_content(group[start:start + limit], provider)
            if chunk:
                done |= _send_chunk(chunk, provider, code, outcomes, settings)
    return done


def _send_chunk(chunk: list[tuple[m.Notification, OutboundMessage]], provider, code: str,
                outcomes: dict[str, int], settings: RuntimeSettings) -> set[int]:
    """One send_batch call and its outcomes, in one commit rather than one per row; returns the ids
    that reached a final or retrying state."""
    rows = [row for row, _ in chunk]
    results = _send_batch(provider, code, [message for _, message in chunk])
    if all(isinstance(result, SendResult) for result in results):
        return _record_accepted(rows, code, results, outcomes)
    for row in rows:
        row.provider_attempts += 1
    done: set[int] = set()
    recorded: set[int] = set()  # one request's answer counts once on the provider's breaker
    retries: list[tuple[int, float]] = []  # a failed batch is retried as one job, still a batch
    for row, result in zip(rows, results, strict=True):
        if isinstance(result, PermanentProviderError):
            # Providers reject a whole request for one bad address: the one-by-one path sends these
            # singly on the same provider, so only the bad one fails.
            row.provider_attempts -= 1
            continue
        status = _apply(row, code, result, settings, record_health=id(result) not in recorded, retries=retries)
        recorded.add(id(result))
        if status == "next-provider":  # carried on one by one from the next provider
            row.provider_index += 1
            row.provider_attempts = 0
            continue
        done.add(row.id)
        outcomes[status] = outcomes.get(status, 0) + 1
    db.session.commit()  # before the retry job is queued, so its worker finds the rows retrying
    if retries:
        delay = max(seconds for _, seconds in retries)
        enqueue_ids(MARKETING, [row_id for row_id, _ in retries], delay_seconds=delay,
                    detail=f"batch retry in {delay:.1f}s")
    return done


def _record_accepted(rows: list[m.Notification], code: str, results: list[SendResult],
                     outcomes: dict[str, int]) -> set[int]:
    """The common case, a request the provider took whole: every row sent, recorded with two
    statements (Core, no unit of work) instead of a thousand ORM updates and inserts."""
    now = utcnow()
    circuit.record_success(rows[0].store_id, rows[0].channel, code)
    table = m.Notification.__table__
    accepted = list(zip(rows, results, strict=True))
    db.session.execute(
        update(table).where(table.c.id == bindparam("row_id"))
        .values(status=m.SENT, error=None, provider=code, provider_message_id=bindparam("message_id"),
                sent_at=now, finished_at=now, provider_attempts=table.c.provider_attempts + 1),
        [{"row_id": row.id, "message_id": result.provider_message_id} for row, result in accepted])
    db.session.execute(insert(m.NotificationEvent.__table__), [
        {"notification_id": row.id, "kind": "sent", "at": now, "provider": code,
         "detail": f"accepted by {code}, id {result.provider_message_id}"[:2000]} for row, result in accepted])
    db.session.commit()
    outcomes[m.SENT] = outcomes.get(m.SENT, 0) + len(rows)
    return {row.id for row in rows}


def _shared_content(chunk: list[m.Notification], provider) -> list[tuple[m.Notification, OutboundMessage]]:
    """The rows (with their messages) that share a template with another row of the chunk, by the
    provider's grouping rules. A message of its own gains nothing from the batch API, and one by one
    it goes through the loop that keeps the batch's deadline and yields to urgent work."""
    messages = [_message(row) for row in chunk]
    rules = getattr(provider, "batch_rules", None) or GroupingRules(provider.spec.max_batch)
    return [(chunk[i], messages[i]) for group in content_groups(messages, rules) if len(group) > 1 for i in group]


def _send_batch(provider, code: str, messages: list[OutboundMessage]) -> list:
    try:
        results = provider.send_batch(messages)
        if len(results) == len(messages):
            return results
        error: ProviderError = TransientProviderError(f"{code} answered {len(results)} outcomes for "
                                                      f"{len(messages)} messages")
    except ProviderError as failed:  # the whole request failed: the same outcome for each
        error = failed
    except Exception as unexpected:  # a provider bug must not strand the claimed rows
        log.exception("provider %s raised unexpectedly in send_batch", code)
        error = TransientProviderError(f"{code}: unexpected {type(unexpected).__name__}")
    return [error] * len(messages)


def _hand_back(rows: list[m.Notification], detail: str = "handed back: the batch ran out of time") -> None:
    """Give unsent rows back to the queue, at its front: they were next, and stay next."""
    ids = [row.id for row in rows]
    db.session.execute(update(m.Notification).where(m.Notification.id.in_(ids), m.Notification.status == m.SENDING)
                       .values(status=m.PENDING, lease_owner=None, lease_expires_at=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    enqueue_ids(rows[0].priority, ids, detail=detail, at_front=True)


def _deliver_claimed(row: m.Notification, chain: list, settings: RuntimeSettings) -> str:
    paused: list[str] = []
    while row.provider_index < len(chain):
        code, provider = chain[row.provider_index]
        if not isinstance(provider, Exception) and not circuit.allow(row.store_id, row.channel, code, settings):
            _event(row, "attempt", f"{code} skipped: paused after repeated failures", code)
            paused.append(code)
            outcome = "next-provider"
        else:
            outcome = _attempt(row, code, provider, settings)
        if outcome != "next-provider":
            return outcome
        row.provider_index += 1
        row.provider_attempts = 0
    if paused:
        return _wait_for_paused(row, paused, settings)
    error = "every provider of the channel failed"
    status = _finish(row, m.FAILED, error, kind="failed", commit=False)
    escalation.note_failure(row, [code for code, _ in chain], settings)
    db.session.commit()
    return status


# A message whose providers are all paused waits for them this many times before it fails.
MAX_PAUSED_WAITS = 3


def _wait_for_paused(row: m.Notification, paused: list[str], settings: RuntimeSettings) -> str:
    """Some providers were skipped by their circuit breaker and none of the rest could send: wait
    for the cool-down and start the chain again, rather than failing a message no one tried."""
    waits = db.session.scalar(select(func.count()).select_from(m.NotificationEvent).where(
        m.NotificationEvent.notification_id == row.id, m.NotificationEvent.kind == "retry",
        m.NotificationEvent.detail.like("all usable providers paused%")))
    if waits >= MAX_PAUSED_WAITS:
        status = _finish(row, m.FAILED, f"providers paused after repeated failures: {', '.join(paused)}",
                         kind="failed", commit=False)
        escalation.note_failure(row, paused, settings)
        db.session.commit()
        return status
    delay = settings.circuit_cooldown_seconds
    row.status, row.error = m.RETRYING, f"providers paused: {', '.join(paused)}"
    row.provider_index, row.provider_attempts = 0, 0
    row.next_attempt_at = utcnow() + timedelta(seconds=delay)
    _event(row, "retry", f"all usable providers paused; retry in {delay:.0f}s")
    db.session.commit()
    enqueue_ids(row.priority, [row.id], delay_seconds=delay, detail=f"waiting {delay:.0f}s for a paused provider")
    return m.RETRYING


def _message(row: m.Notification) -> OutboundMessage:
    return OutboundMessage(row.id, row.store_id, row.channel, row.recipient, row.subject, row.body,
                           row.idempotency_key, row.body_text, row.link, row.headers, row.substitutions)


def _attempt(row: m.Notification, code: str, provider, settings: RuntimeSettings) -> str:
    if isinstance(provider, Exception):
        _event(row, "attempt", f"{code} is misconfigured: {provider}", code)
        return "next-provider"
    row.provider_attempts += 1
    try:
        result: SendResult | ProviderError = provider.send(_message(row))
    except ProviderError as error:
        result = error
    except Exception as unexpected:
        # A provider bug or an SDK exception it did not translate: treat it as this provider failing
        # (retry, then the next provider) rather than stranding the row in `sending`.
        log.exception("provider %s raised unexpectedly for notification %s", code, row.id)
        result = TransientProviderError(f"{code}: unexpected {type(unexpected).__name__}")
    return _apply(row, code, result, settings)


def _apply(row: m.Notification, code: str, result: SendResult | ProviderError, settings: RuntimeSettings,
           record_health: bool = True, retries: list[tuple[int, float]] | None = None) -> str:
    """What one provider's answer means for the row: sent, retry later, fail, or next provider.

    With `retries` given (a batch) nothing is committed here: the caller commits the whole request's
    rows at once and then queues the retries collected there as one job. `record_health` False: this
    answer was already counted on the provider's breaker (another row of the same request)."""
    commit = retries is None
    if isinstance(result, SendResult):
        if record_health:
            circuit.record_success(row.store_id, row.channel, code)
        row.provider, row.provider_message_id = code, result.provider_message_id
        row.sent_at = utcnow()
        return _finish(row, m.SENT, None, kind="sent", provider=code,
                       detail=f"accepted by {code}, id {result.provider_message_id}", commit=commit)
    if isinstance(result, RecipientNotServed):
        _event(row, "attempt", f"not for this provider: {result}", code)
        return "next-provider"
    if isinstance(result, PermanentProviderError):
        _event(row, "attempt", f"rejected: {result}", code)
        if isinstance(result, RecipientGone):
            _forget_address(row)
        return _finish(row, m.FAILED, f"{code}: {result}", kind="failed", commit=commit)
    if record_health:
        circuit.record_failure(row.store_id, row.channel, code, settings)
    if isinstance(result, TransientProviderError):
        return _transient(row, code, result, settings, retries)
    if isinstance(result, ProviderConfigError):
        _event(row, "attempt", f"configuration/auth error: {result}", code)
    else:
        _event(row, "attempt", str(result), code)
    return "next-provider"


def _forget_address(row: m.Notification) -> None:
    """A push token the provider says is gone is removed, so the customer's next push goes to a
    device that still has the app (or is skipped) instead of failing the same way forever."""
    if row.channel == "push" and ":" in row.recipient:
        platform, token = row.recipient.split(":", 1)
        db.session.execute(delete(CustomerDevice).where(CustomerDevice.store_id == row.store_id,
                                                        CustomerDevice.platform == platform,
                                                        CustomerDevice.token == token))
        _event(row, "attempt", "device token removed: the app is no longer installed there")


def _transient(row: m.Notification, code: str, error: TransientProviderError, settings: RuntimeSettings,
               retries: list[tuple[int, float]] | None = None) -> str:
    """Schedule the row's next try on this provider, or move on once its attempts are spent. With
    `retries` given (a batch), the retry is collected there for one job instead of enqueued alone,
    and the caller commits."""
    policy = retry_policy(settings)
    label = "rate limited" if isinstance(error, RateLimitedError) else "temporary failure"
    _event(row, "attempt", f"{label}: {error}", code)
    if row.provider_attempts >= policy.attempts_per_provider:
        return "next-provider"
    delay = policy.delay(row.provider_attempts, getattr(error, "retry_after", None))
    row.status, row.error = m.RETRYING, f"{code}: {error}"
    row.next_attempt_at = utcnow() + timedelta(seconds=delay)
    _event(row, "retry", f"retry {row.provider_attempts + 1} in {delay:.1f}s", code)
    if retries is not None:
        retries.append((row.id, delay))
        return m.RETRYING
    db.session.commit()
    enqueue_ids(row.priority, [row.id], delay_seconds=delay, detail=f"retry in {delay:.1f}s")
    return m.RETRYING


def _finish(row: m.Notification, status: str, error: str | None, *, kind: str, provider: str | None = None,
            detail: str = "", commit: bool = True) -> str:
    row.status, row.error, row.finished_at = status, error, utcnow()
    _event(row, kind, detail or error or "", provider)
    if commit:
        db.session.commit()
    return status


def _event(row: m.Notification, kind: str, detail: str, provider: str | None = None) -> None:
    # Added by id, not through row.events, which would load the whole timeline first.
    db.session.add(m.NotificationEvent(notification_id=row.id, kind=kind, detail=detail[:2000], provider=provider,
                                       at=utcnow()))
