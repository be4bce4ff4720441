"""The storefront's in-app inbox feed and device registration (JSON API).

Two ways in, on the same URLs (/api/v1/customers/<id>/...):

- the store's API key (`Authorization: Bearer nh_...`), server to server: any customer of the
  key's store;
- a customer token (`Authorization: Bearer <customer id>.<expiry>.<hmac>` plus `X-Store: <store
  slug>`), for the browser widget: only the customer the token names.

A customer of another store, or another customer than the token's, is a 404. CORS is open
(`Access-Control-Allow-Origin: *`): no cookies are read here, only the Authorization header.
"""
from __future__ import annotations

import time
from functools import wraps

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select

from webapp import jsonbody
from webapp.accounts.models import Store
from webapp.events.api_keys import PREFIX as API_KEY_PREFIX
from webapp.extensions import db
from webapp.inbox import feed
from webapp.inbox.secrets import inbox_secret
from webapp.inbox.tokens import TokenError, TokenExpired, verify_token
from webapp.views.api import api_key_required, error

bp = Blueprint("inbox", __name__)
PREFIX = "/api/v1/customers/<customer_id>"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Store"
ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"


@bp.after_request
def cors(response):
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers.setdefault("Cache-Control", "no-store")  # a customer's messages: never cache
    return response


def customer_auth(view):
    """Authenticate by API key or customer token, check the customer is in that store, then call
    view(store, customer_id, **kwargs)."""

    @api_key_required
    def with_api_key(customer_id: int, **kwargs):
        named = request.headers.get("X-Store", "").strip()
        if named and named != g.api_store.slug:
            return error(400, "X-Store names another store than the API key's; leave it out with an API key")
        return _for_customer(view, g.api_store, customer_id, kwargs)

    @wraps(view)
    def wrapped(customer_id: str, **kwargs):
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        presented = presented.strip()
        if scheme.lower() != "bearer" or not presented:
            return error(401, "send Authorization: Bearer <store API key>, or Bearer <customer token> "
                              "with X-Store: <store slug>")
        if presented.startswith(API_KEY_PREFIX):
            return with_api_key(customer_id, **kwargs)
        slug = request.headers.get("X-Store", "").strip()
        if not slug:
            return error(401, "a customer token needs the X-Store: <store slug> header")
        store = db.session.scalar(select(Store).where(Store.slug == slug))
        secret = inbox_secret(store.id) if store else None
        if secret is None:  # unknown store, or one that never set an inbox secret: same answer
            return error(401, "invalid customer token", code="token_invalid")
        try:
            granted = verify_token(secret, store.slug, presented, time.time())
        except TokenExpired:
            return error(401, "customer token expired; mint a new one", code="token_expired")
        except TokenError:
            return error(401, "invalid customer token", code="token_invalid")
        if feed.parse_id(customer_id) != granted:
            return _not_found()
        return _for_customer(view, store, customer_id, kwargs)

    return wrapped


def _for_customer(view, store: Store, customer_id: str, kwargs: dict):
    number = feed.parse_id(customer_id)
    if number is None or not feed.customer_exists(db.session, store.id, number):
        return _not_found()
    return view(store, number, **kwargs)


def _not_found():
    return error(404, "no such customer in this store")


def _unread(store: Store, customer_id: int):
    return jsonify({"unread_count": feed.unread_count(db.session, store.id, customer_id)})


@bp.get(f"{PREFIX}/inbox")
@customer_auth
def inbox(store: Store, customer_id: int):
    try:
        limit, before = feed.parse_page_args(request.args.get("limit"), request.args.get("before"))
    except feed.FeedError as exc:
        return error(400, str(exc))
    page = feed.feed_page(db.session, store.id, customer_id, limit, before)
    return jsonify({"messages": [feed.message_json(row) for row in page.messages],
                    "unread_count": page.unread_count, "next_before": page.next_before})


@bp.post(f"{PREFIX}/inbox/<message_id>/read")
@customer_auth
def mark_read(store: Store, customer_id: int, message_id: str):
    number = feed.parse_id(message_id)
    if number is None or not feed.mark_read(db.session, store.id, customer_id, number):
        return error(404, "no such message in this customer's inbox")
    return _unread(store, customer_id)


@bp.post(f"{PREFIX}/inbox/read-all")
@customer_auth
def mark_all_read(store: Store, customer_id: int):
    feed.mark_all_read(db.session, store.id, customer_id)
    return _unread(store, customer_id)


@bp.post(f"{PREFIX}/devices")
@customer_auth
def register_device(store: Store, customer_id: int):
    try:
        platform, token = feed.parse_device(_json_or_none())
    except feed.FeedError as exc:
        return error(400, str(exc))
    result = feed.register_device(db.session, store.id, customer_id, platform, token)
    return jsonify({"device": feed.device_json(result.device)}), 201 if result.created else 200


@bp.delete(f"{PREFIX}/devices/<token>")
@customer_auth
def remove_device(store: Store, customer_id: int, token: str):
    # Idempotent: removing a token the customer does not have (any more) is not an error.
    feed.remove_device(db.session, store.id, customer_id, token)
    return "", 204


def _json_or_none():
    try:
        return jsonbody.loads(request.get_data())
    except jsonbody.JSONBodyError:
        return None
