"""The REST API for other systems: push events in, read notifications out.

Authenticated with `Authorization: Bearer <store API key>`. Answers JSON, errors included.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from functools import wraps

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.accounts.models import Store
from webapp.events.api_keys import authenticate
from webapp.events.ingest import ingest_event
from webapp.events.models import IdempotentResponse
from webapp.events.normalized import PayloadError
from webapp.events.sources.api import normalize_api_event
from webapp.extensions import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(status: int, message: str, **extra):
    return jsonify({"error": message, **extra}), status


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
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise PayloadError("body must be a JSON object")
        event = normalize_api_event(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return error(400, f"invalid event: {exc}")
    dedupe_key = f"api:{idem_key}" if idem_key else f"api:{uuid.uuid4()}"
    result = ingest_event(store, event, dedupe_key, payload)
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
