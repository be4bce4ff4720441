"""Completing a BigCommerce event: its webhook carries only the order id and status, so a job
fetches the order (customer, totals) from the store's V2 API and then ingests it."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import httpx
import redis
from rq import Retry
from rq.job import Job, JobStatus
from sqlalchemy import select

from webapp.accounts.models import Store
from webapp.channels import egress
from webapp.dispatch.queueing import queue
from webapp.dispatch.recovery import WAITING_STATUSES
from webapp.events import models as ev
from webapp.events.integrations import api_token_for, get_integration
from webapp.events.normalized import PayloadError, UnknownTopic
from webapp.events.sources.bigcommerce import normalize_bigcommerce_order, parse_bigcommerce_webhook
from webapp.extensions import db
from webapp.pipeline.ingest import ingest_event
from webapp.redis_conn import get_redis
from webapp.runtime import RuntimeSettings
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
FETCH_JOB = "jobs.ingest.complete_bigcommerce_event"
DEFAULT_API = "https://api.bigcommerce.com"
GIVE_UP_AFTER = timedelta(hours=1)


class BigCommerceUnavailable(RuntimeError):
    """BigCommerce did not answer usefully; the job is retried."""


@lru_cache(maxsize=1)
def _client() -> httpx.Client:
    return egress.http_client(timeout=httpx.Timeout(10.0, connect=3.0))


def enqueue_fetch(inbound_id: int) -> None:
    try:
        # One job id per event: the sweep can see it is still queued instead of piling up copies.
        queue("transactional").enqueue(FETCH_JOB, inbound_id, job_id=fetch_job_id(inbound_id),
                                       retry=Retry(max=3, interval=[5, 30, 120]), job_timeout=60, result_ttl=0)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        log.warning("Redis unavailable; BigCommerce event %s left for the sweep: %s", inbound_id, error)


def fetch_job_id(inbound_id: int) -> str:
    return f"bigcommerce-fetch-{inbound_id}"


def complete_event(inbound_id: int) -> str:
    inbound = db.session.get(ev.InboundEvent, inbound_id)
    if inbound is None or inbound.outcome != ev.WAITING:
        return "not-waiting"
    store = db.session.get(Store, inbound.store_id)
    if utcnow() - inbound.received_at > GIVE_UP_AFTER:
        return _fail(inbound, "gave up: the order could not be fetched from BigCommerce within an hour")
    try:
        scope, order_id, status_id = parse_bigcommerce_webhook(inbound.payload or {})
        # Without API credentials the webhook is all there is: no customer, so messages are recorded skips.
        order = fetch_order(store.id, order_id) or {"id": int(order_id), "status_id": status_id,
                                                    "date_modified": _webhook_time(inbound)}
        event = normalize_bigcommerce_order(scope, order, status_id)
    except egress.PrivateDestination as error:  # the merchant's API base URL points inside our network
        return _fail(inbound, f"cannot fetch the order: {error}")
    except (PayloadError, UnknownTopic, ValueError) as error:
        return _fail(inbound, f"cannot use this event: {error}")
    if event is None:
        inbound.outcome, inbound.detail = ev.IGNORED, "status does not map to a notification"
        db.session.commit()
        return ev.IGNORED
    return ingest_event(store, event, inbound.dedupe_key, inbound.payload, waiting_inbound_id=inbound.id).outcome


def fetch_order(store_id: int, order_id: str) -> dict | None:
    """The V2 order, or None when the store has no API credentials (the event is used as is)."""
    integration = get_integration(store_id, "bigcommerce")
    settings = (integration.settings or {}) if integration else {}
    token = api_token_for(integration) if integration else None
    if not (token and settings.get("store_hash")):
        return None
    base = (settings.get("api_base_url") or DEFAULT_API).rstrip("/")
    url = f"{base}/stores/{settings['store_hash']}/v2/orders/{order_id}"
    try:
        response = _client().get(url, headers={"X-Auth-Token": token, "Accept": "application/json"})
    except httpx.HTTPError as error:
        raise BigCommerceUnavailable(f"GET {url}: {error}") from error
    if response.status_code == 404:
        raise PayloadError(f"order {order_id} does not exist at BigCommerce")
    if response.status_code >= 400:
        raise BigCommerceUnavailable(f"GET {url}: HTTP {response.status_code}")
    return response.json()


def _webhook_time(inbound: ev.InboundEvent) -> str:
    from email.utils import format_datetime

    created = (inbound.payload or {}).get("created_at")
    moment = datetime.fromtimestamp(created, UTC) if isinstance(created, int) else inbound.received_at
    return format_datetime(moment.astimezone(UTC))


def _fail(inbound: ev.InboundEvent, detail: str) -> str:
    inbound.outcome, inbound.detail = ev.FAILED, detail
    db.session.commit()
    log.warning("BigCommerce event %s failed: %s", inbound.id, detail)
    return ev.FAILED


def sweep_waiting_events(settings: RuntimeSettings) -> int:
    """Re-enqueue the fetch of BigCommerce events still waiting for their order whose job was lost."""
    cutoff = utcnow() - timedelta(seconds=settings.sweep_requeue_after * 2)
    ids = db.session.scalars(select(ev.InboundEvent.id).where(ev.InboundEvent.outcome == ev.WAITING,
                                                              ev.InboundEvent.received_at < cutoff).limit(200)).all()
    if not ids:
        return 0
    try:
        jobs = Job.fetch_many([fetch_job_id(i) for i in ids], connection=get_redis())
    except (redis.ConnectionError, redis.TimeoutError):
        return 0
    lost = [i for i, job in zip(ids, jobs, strict=True)
            if job is None or job.get_status(refresh=False) not in WAITING_STATUSES | {JobStatus.STARTED}]
    for inbound_id in lost:
        enqueue_fetch(inbound_id)  # the job is idempotent: a second run finds nothing waiting
    return len(lost)
