"""The REST API for other systems: push events in, read notifications out.

Authenticated with `Authorization: Bearer <store API key>`. Answers JSON, errors included.
"""
from __future__ import annotations

import hashlib
import uuid
from functools import wraps

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp import jsonbody
from webapp.accounts.models import Store
from webapp.dispatch.models import Notification
from webapp.events.api_keys import authenticate
from webapp.events.models import IdempotentResponse
from webapp.events.normalized import PayloadError
from webapp.events.sources.api import normalize_api_event
from webapp.extensions import db
from webapp.orders.models import Order
from webapp.pipeline.ingest import ingest_event
from webapp.views.read.activity import FilterError, parse_filters, query_notifications

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(status: int, message: str, **extra):
    return jsonify({"error": message, **extra}), status


def json_payload():
    """(the request's JSON body, None) or (None, a 400 answer)."""
    try:
        return jsonbody.loads(request.get_data() or b"{}"), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, error(400, f"invalid JSON: {exc}")


def problems_error(problems):
    """422 naming the first problem's field, with every problem listed."""
    return error(422, problems[0].message, field=problems[0].field, problems=[p.as_dict() for p in problems])


def api_key_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        key = authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            return error(401, "missing, unknown or revoked API key; send Authorization: Bearer <key>")
        db.session.commit()  # last_used_at
        g.api_store = db.session.get(Store, key.store_id)
        return view(*args, **kwargs)

    return wrapped


@bp.post("/events")
@api_key_required
def post_event():
    store = g.api_store
    body = request.get_data()
    idem_key = request.headers.get("Idempotency-Key", "").strip()
    if len(idem_key) > 200:
        return error(400, "Idempotency-Key must be at most 200 characters")
    if idem_key:
        replay = _replay(store.id, idem_key, body)
        if replay is not None:
            return replay
    try:
        payload = jsonbody.loads(body)
        if not isinstance(payload, dict):
            raise PayloadError("body must be a JSON object")
        event = normalize_api_event(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return error(400, f"invalid event: {exc}")
    # Hashed: keys may be as long as 200 characters, and the dedupe column is no longer than that.
    dedupe_key = f"api:{hashlib.sha256(idem_key.encode()).hexdigest()}" if idem_key else f"api:{uuid.uuid4()}"
    try:
        result = ingest_event(store, event, dedupe_key, payload)
    except PayloadError as exc:
        return error(400, f"invalid event: {exc}")
    response = {"status": result.outcome, "event_id": result.inbound_event_id, "order_id": result.order_id,
                "notification_ids": result.notification_ids, "detail": result.detail}
    status = 201 if not result.duplicate else 200
    if idem_key:
        _remember(store.id, idem_key, body, status, response)
    return jsonify(response), status


def _request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _replay(store_id: int, key: str, body: bytes):
    saved = db.session.scalar(select(IdempotentResponse).where(IdempotentResponse.store_id == store_id,
                                                               IdempotentResponse.key == key))
    if saved is None:
        return None
    if saved.request_hash != _request_hash(body):
        return error(422, "this Idempotency-Key was already used with a different request body")
    return jsonify(saved.body), saved.status_code


def _remember(store_id: int, key: str, body: bytes, status: int, response: dict) -> None:
    db.session.add(IdempotentResponse(store_id=store_id, key=key, request_hash=_request_hash(body),
                                      status_code=status, body=response))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a concurrent retry stored it first; both answered the same


def notification_json(row, order_number: str | None) -> dict:
    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": row.id, "order_id": row.order_id, "order_number": order_number, "customer_id": row.customer_id,
        "source": row.source, "message_type": row.message_type, "channel": row.channel, "priority": row.priority,
        "locale": row.locale, "recipient": row.recipient, "subject": row.subject, "status": row.status,
        "reason": row.reason, "error": row.error, "attempts": row.attempts, "provider": row.provider,
        "provider_message_id": row.provider_message_id, "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at), "finished_at": iso(row.finished_at),
        # Exactly what was sent (or would have been): the rendered message and its headers.
        "message": {"subject": row.subject, "body": row.body, "text": row.body_text, "link": row.link,
                    "headers": row.headers or {}},
    }


@bp.get("/notifications/<int:notification_id>")
@api_key_required
def get_notification(notification_id: int):
    row = db.session.scalar(select(Notification).where(Notification.id == notification_id,
                                                       Notification.store_id == g.api_store.id))
    if row is None:
        return error(404, "no such notification in this store")
    number = db.session.scalar(select(Order.number).where(Order.id == row.order_id)) if row.order_id else None
    return jsonify(notification_json(row, number) | {
        "timeline": [{"at": e.at.isoformat(), "kind": e.kind, "detail": e.detail, "provider": e.provider}
                     for e in row.events]})


@bp.get("/notifications")
@api_key_required
def list_notifications():
    """Notifications newest first, with the Activity page's filters; `next_before` pages on."""
    try:
        filters = parse_filters(request.args)
    except FilterError as exc:
        return error(400, str(exc))
    rows, next_before = query_notifications(db.session, g.api_store.id, filters)
    order_ids = {row.order_id for row in rows if row.order_id}
    numbers = dict(db.session.execute(select(Order.id, Order.number).where(
        Order.store_id == g.api_store.id, Order.id.in_(order_ids))).all()) if order_ids else {}
    return jsonify({"notifications": [notification_json(row, numbers.get(row.order_id)) for row in rows],
                    "next_before": next_before})
