"""Turning due recipients into notifications, in bulk: each rendered in their language and A/B
variant, keyed by campaign + customer + channel (+ the resend round), inserted in one statement
that skips keys already there, linked from the recipient and queued, all in one commit. A pump
killed before the commit wrote nothing; after it, every row is in the outbox and the sweep queues
any that missed Redis. Nobody is mailed twice and nobody is skipped."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from webapp.accounts.models import Store
from webapp.campaigns.campaign_store import transition
from webapp.campaigns.models import EXCLUDED, QUEUED, SENDING, Campaign, CampaignRecipient
from webapp.campaigns.render import MESSAGE_TYPE, CampaignRenderer, Person
from webapp.campaigns.snapshot import WAIT_FOR_WINNER, B
from webapp.channels.providers.registry import provider_chain
from webapp.consent.policy import MARKETING
from webapp.dispatch.models import PENDING, Notification, NotificationEvent
from webapp.dispatch.outbox import idempotency_key
from webapp.dispatch.queueing import BATCH_SIZE, enqueue_jobs
from webapp.extensions import db
from webapp.templating.resolve import normalize_locale

# A job is one provider request: SendGrid's 1,000. Halving it (bench/campaign.py, 2 cores) made the
# send 40 % slower, twice the jobs and chunks, and did not bring critical messages' p99 down.
MAX_JOB = 1000


def job_size(store_id: int, channel: str) -> int:
    """Messages per delivery job: a batch-capable provider's request size, else the usual batch."""
    code, provider = provider_chain(store_id, channel)[0]
    batch = getattr(getattr(provider, "spec", None), "max_batch", 1) or 1
    return min(MAX_JOB, batch) if batch > BATCH_SIZE else BATCH_SIZE


def variant_content(campaign: Campaign, variant: str) -> dict[str, dict[str, str]]:
    """The content a variant sends: A is the campaign's; B swaps in the tested subject or body."""
    test = campaign.ab_test or {}
    if variant == WAIT_FOR_WINNER:
        variant = campaign.ab_winner or "A"
    if variant != B or not test:
        return campaign.content
    return {locale: {**fields, test["field"]: test["b"].get(locale, fields.get(test["field"], ""))}
            for locale, fields in campaign.content.items()}


def materialize(campaign: Campaign, store: Store, recipients: list[CampaignRecipient], renderer: CampaignRenderer,
                now: datetime, per_job: int) -> int | None:
    """Notifications for these recipients, committed and queued; returns how many were new, or None
    when the campaign stopped sending meanwhile (paused, cancelled): nothing is written then."""
    if not recipients:
        return 0
    rows, by_key, cache, broken = [], {}, {}, []
    for recipient in recipients:
        try:
            row = _row(campaign, store, recipient, renderer, now, cache)
        except Exception as error:  # noqa: BLE001 - one recipient's render error must not stop the campaign
            broken.append({"id": recipient.id, "reason": f"template error: {str(error)[:300]}"})
            continue
        row["job_id"] = f"deliver-{uuid.uuid4().hex}" if len(rows) % per_job == 0 else rows[-1]["job_id"]
        rows.append(row)
        by_key[row["idempotency_key"]] = recipient
    if not transition(campaign, (SENDING,), pumped_at=now):  # rendered first: the lock is held briefly
        db.session.rollback()
        return None
    _exclude(broken)
    created = _insert(rows) if rows else []
    ids = {key: notification_id for notification_id, key, _ in created}
    if len(ids) < len(by_key):  # some keys were there already (a racing pump): link those too
        table = Notification.__table__
        ids |= dict(db.session.execute(select(table.c.idempotency_key, table.c.id).where(
            table.c.idempotency_key.in_([key for key in by_key if key not in ids]))).all())
    db.session.execute(insert(NotificationEvent.__table__), [
        {"notification_id": notification_id, "kind": "planned", "at": now, "provider": None,
         "detail": f"campaign “{campaign.name}” · on the marketing queue"[:500]} for notification_id, _, _ in created])
    recipients = CampaignRecipient.__table__
    db.session.execute(  # an executemany: psycopg pipelines it, faster here than one UPDATE … FROM VALUES
        update(recipients).where(recipients.c.id == bindparam("recipient_id"))
        .values(status=QUEUED, notification_id=bindparam("linked_id")),
        [{"recipient_id": by_key[key].id, "linked_id": notification_id} for key, notification_id in ids.items()])
    db.session.commit()
    jobs: dict[str, tuple[str, list[int]]] = {}
    for notification_id, _, job_id in created:
        jobs.setdefault(job_id, (MARKETING, []))[1].append(notification_id)
    enqueue_jobs(jobs)
    return len(created)


def _exclude(broken: list[dict]) -> None:
    """Recipients whose message could not be rendered (a template that fails on their data) are
    left out with the error, rather than failing the chunk on every pass."""
    if broken:
        table = CampaignRecipient.__table__
        db.session.execute(update(table).where(table.c.id == bindparam("recipient_id"))
                           .values(status=EXCLUDED, reason=bindparam("why")),
                           [{"recipient_id": item["id"], "why": item["reason"]} for item in broken])


def _insert(rows: list[dict]) -> list[tuple[int, str, str]]:
    """Insert the rows, skipping keys that exist (a racing pump wrote them); (id, key, job id) of
    those inserted. Core statements on the table, not the ORM's bulk path: this runs per recipient.

    On PostgreSQL the ids are taken from the sequence first and the rows inserted without
    RETURNING: SQLAlchemy's multi-row INSERT … RETURNING costs about four times the plain
    executemany there (280 against 70 µs a row, 3 KB bodies, bench/RESULTS.md)."""
    table = Notification.__table__
    if db.session.get_bind().dialect.name != "postgresql":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"])
        return [tuple(row) for row in db.session.execute(
            statement.returning(table.c.id, table.c.idempotency_key, table.c.job_id), rows)]
    ids = db.session.scalars(text("SELECT nextval(pg_get_serial_sequence('notifications', 'id')) "
                                  "FROM generate_series(1, :n)"), {"n": len(rows)}).all()
    for row, notification_id in zip(rows, ids, strict=True):
        row["id"] = notification_id
    db.session.execute(postgresql.insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"]), rows)
    stored = dict(db.session.execute(select(table.c.idempotency_key, table.c.id).where(
        table.c.id.in_(ids))).all())
    return [(row["id"], row["idempotency_key"], row["job_id"]) for row in rows
            if stored.get(row["idempotency_key"]) == row["id"]]


def _template(campaign: Campaign, store: Store, variant: str, locale: str | None, cache: dict):
    """The recipient's content: their variant, in their language or the closest the campaign has."""
    key = (variant, locale)
    if key not in cache:
        content = variant_content(campaign, variant)
        chosen = content_locale(content, locale, store.default_locale)
        cache[key] = (content[chosen], chosen)
    return cache[key]


def content_locale(content: dict, customer_locale: str | None, store_locale: str | None) -> str:
    """Which of the campaign's languages a recipient gets: theirs, its base language (fr-CA → fr),
    the store's, its base, then the first the campaign has. Never the platform's placeholder."""
    for code in (normalize_locale(customer_locale), normalize_locale(store_locale)):
        for candidate in (code, code.split("-")[0] if code else None):
            if candidate and candidate in content:
                return candidate
    return next(iter(content))


def _row(campaign: Campaign, store: Store, recipient: CampaignRecipient, renderer: CampaignRenderer,
         now: datetime, cache: dict) -> dict:
    fields, locale = _template(campaign, store, recipient.variant, recipient.locale, cache)
    person = Person(recipient.customer_id, recipient.name, recipient.address if campaign.channel == "email" else "")
    out = renderer.message(fields, locale, person)
    return {"store_id": store.id, "customer_id": recipient.customer_id, "campaign_id": campaign.id,
            "source": "campaign", "message_type": MESSAGE_TYPE, "channel": campaign.channel, "priority": MARKETING,
            "locale": locale, "recipient": recipient.address, "subject": out.subject, "body": out.body,
            "body_text": out.text, "headers": out.headers, "substitutions": out.substitutions, "status": PENDING,
            "idempotency_key": idempotency_key(f"{store.id}:campaign:{campaign.id}", recipient.customer_id,
                                               campaign.channel, recipient.round),
            "reason": f"campaign “{campaign.name}”"[:500], "attempts": 0, "provider_index": 0,
            "provider_attempts": 0, "created_at": now, "queued_at": now}
