"""Webhooks from commerce platforms: verify, normalize, ingest. Answers fast; delivery is queued.

Answers: 200 handled (or already handled), 202 accepted but not acted on (unknown topic, no
status change), 400 malformed, 401 bad or missing signature, 404 unknown store, 413 too large.
Nothing is stored unless the signature is valid and the payload parses.
"""
from __future__ import annotations

import hashlib
import logging
import re

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp import jsonbody
from webapp.accounts.models import Store
from webapp.events import models as ev
from webapp.events.integrations import secret_for
from webapp.events.normalized import PayloadError, UnknownTopic
from webapp.events.signatures import valid_base64_hmac, valid_shared_secret
from webapp.events.sources.bigcommerce import parse_bigcommerce_webhook
from webapp.events.sources.shopify import normalize_shopify
from webapp.events.sources.woocommerce import normalize_woocommerce
from webapp.extensions import db
from webapp.pipeline.bigcommerce_fetch import enqueue_fetch
from webapp.pipeline.ingest import ingest_event
from webapp.views import store_from_url_or_404

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)
WOO_PING = re.compile(rb"^webhook_id=\d+$")


def _answer(status: int, message: str, **extra):
    return jsonify({"status": message, **extra}), status


def _json_body() -> dict:
    try:
        payload = jsonbody.loads(request.get_data())
    except jsonbody.JSONBodyError as error:
        raise PayloadError(f"body is {error}") from error
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    return payload


def _verified(store: Store, source: str, check) -> bool:
    secret = secret_for(store.id, source)
    if secret is None:
        log.warning("%s webhook for store %s refused: no secret configured", source, store.slug)
        return False
    return check(secret)


def _ingest(store: Store, event, dedupe_key: str, payload: dict):
    if event is None:
        return _answer(202, "ignored", reason="event does not change the order's status")
    result = ingest_event(store, event, dedupe_key, payload)
    return _answer(200, "duplicate" if result.duplicate else result.outcome, detail=result.detail,
                   notifications=len(result.notification_ids))


def _handle(normalize):
    try:
        return normalize()
    except UnknownTopic as error:
        log.info("webhook ignored: %s", error)
        return _answer(202, "ignored", reason=str(error))
    except PayloadError as error:
        log.info("webhook rejected: %s", error)
        return _answer(400, "rejected", reason=str(error))


@bp.post("/shopify/<store_slug>")
def shopify(store_slug: str):
    store, body = store_from_url_or_404(store_slug), request.get_data()
    header = request.headers.get("X-Shopify-Hmac-Sha256")
    if not _verified(store, "shopify", lambda secret: valid_base64_hmac(secret, body, header)):
        return _answer(401, "unauthorized", reason="invalid or missing X-Shopify-Hmac-Sha256")
    topic = request.headers.get("X-Shopify-Topic", "")
    webhook_id = request.headers.get("X-Shopify-Webhook-Id") or hashlib.sha256(body).hexdigest()

    def go():
        payload = _json_body()
        return _ingest(store, normalize_shopify(topic, payload), f"shopify:{webhook_id}", payload)

    return _handle(go)


@bp.post("/woocommerce/<store_slug>")
def woocommerce(store_slug: str):
    store, body = store_from_url_or_404(store_slug), request.get_data()
    if WOO_PING.match(body) and "X-WC-Webhook-Signature" not in request.headers:
        return _answer(200, "pong")  # WooCommerce pings a webhook once when it is created
    header = request.headers.get("X-WC-Webhook-Signature")
    if not _verified(store, "woocommerce", lambda secret: valid_base64_hmac(secret, body, header)):
        return _answer(401, "unauthorized", reason="invalid or missing X-WC-Webhook-Signature")
    topic = request.headers.get("X-WC-Webhook-Topic", "")

    def go():
        payload = _json_body()
        # WooCommerce gives each retry a new delivery id, so deduplicate on the order's state.
        key = f"woocommerce:{topic}:{payload.get('id')}:{payload.get('status')}:{payload.get('date_modified_gmt')}"
        return _ingest(store, normalize_woocommerce(topic, payload), key, payload)

    return _handle(go)


@bp.post("/bigcommerce/<store_slug>")
def bigcommerce(store_slug: str):
    store = store_from_url_or_404(store_slug)
    header = request.headers.get("X-Webhook-Secret")
    if not _verified(store, "bigcommerce", lambda secret: valid_shared_secret(secret, header)):
        return _answer(401, "unauthorized", reason="invalid or missing X-Webhook-Secret")

    def go():
        payload = _json_body()
        scope, order_id, status_id = parse_bigcommerce_webhook(payload)
        key = f"bigcommerce:{scope}:{order_id}:{status_id}:{payload.get('hash') or payload.get('created_at')}"
        return _accept_bigcommerce(store, scope, key, payload)

    return _handle(go)


def _accept_bigcommerce(store: Store, scope: str, key: str, payload: dict):
    """BigCommerce hooks carry only the order id: store the event and fetch the order in a job."""
    existing = db.session.scalar(select(ev.InboundEvent.id).where(
        ev.InboundEvent.store_id == store.id, ev.InboundEvent.source == "bigcommerce",
        ev.InboundEvent.dedupe_key == key))
    if existing:
        return _answer(200, "duplicate", detail="duplicate delivery; already handled")
    inbound = ev.InboundEvent(store_id=store.id, source="bigcommerce", topic=scope, dedupe_key=key,
                              payload=payload, outcome=ev.WAITING, detail="fetching the order from BigCommerce")
    db.session.add(inbound)
    try:
        db.session.commit()
    except IntegrityError:  # the same delivery raced itself
        db.session.rollback()
        return _answer(200, "duplicate", detail="duplicate delivery; already handled")
    enqueue_fetch(inbound.id)
    return _answer(200, ev.WAITING, detail=inbound.detail)
