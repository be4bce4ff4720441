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
from webapp.campaigns.models import QUEUED, Campaign, CampaignRecipient
from webapp.campaigns.render import MESSAGE_TYPE, CampaignRenderer, Person
from webapp.campaigns.snapshot import WAIT_FOR_WINNER, B
from webapp.channels.providers.registry import provider_chain
from webapp.consent.policy import MARKETING
from webapp.dispatch.models import PENDING, Notification, NotificationEvent
from webapp.dispatch.outbox import idempotency_key
from webapp.dispatch.queueing import BATCH_SIZE, enqueue_jobs
from webapp.extensions import db
from webapp.templating.resolve import resolve_template

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
                now: datetime, per_job: int) -> int:
    """Notifications for these recipients, committed and queued; returns how many were new."""
    if not recipients:
        return 0
    rows, by_key, cache = [], {}, {}
    for index, recipient in enumerate(recipients):
        row = _row(campaign, store, recipient, renderer, now, cache)
        row["job_id"] = f"deliver-{uuid.uuid4().hex}" if index % per_job == 0 else rows[-1]["job_id"]
        rows.append(row)
        by_key[row["idempotency_key"]] = recipient
    created = _insert(rows)
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
    """The recipient's content: their variant, in their language or the fallback templates take."""
    key = (variant, locale)
    if key not in cache:
        content = variant_content(campaign, variant)
        overrides = {(MESSAGE_TYPE, campaign.channel, code): fields for code, fields in content.items()}
        cache[key] = resolve_template(MESSAGE_TYPE, campaign.channel, locale, store.default_locale, overrides)
    return cache[key]


def _row(campaign: Campaign, store: Store, recipient: CampaignRecipient, renderer: CampaignRenderer,
         now: datetime, cache: dict) -> dict:
    template = _template(campaign, store, recipient.variant, recipient.locale, cache)
    person = Person(recipient.customer_id, recipient.name, recipient.address if campaign.channel == "email" else "")
    out = renderer.message(template.fields, template.locale, person)
    return {"store_id": store.id, "customer_id": recipient.customer_id, "campaign_id": campaign.id,
            "source": "campaign", "message_type": MESSAGE_TYPE, "channel": campaign.channel, "priority": MARKETING,
            "locale": template.locale, "recipient": recipient.address, "subject": out.subject, "body": out.body,
            "body_text": out.text, "headers": out.headers, "substitutions": out.substitutions, "status": PENDING,
            "idempotency_key": idempotency_key(f"{store.id}:campaign:{campaign.id}", recipient.customer_id,
                                               campaign.channel, recipient.round),
            "reason": f"campaign “{campaign.name}”"[:500], "attempts": 0, "provider_index": 0,
            "provider_attempts": 0, "created_at": now, "queued_at": now}
