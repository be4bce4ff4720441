"""Dashboard blueprints (one module per area) and the few helpers they share."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp.accounts.models import Store
from webapp.extensions import db
from webapp.runtime import RuntimeSettings


def is_htmx() -> bool:
    """An HTMX request that wants a fragment. History restores (back button after a cache miss)
    also carry HX-Request but need the whole page."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


def render_page(page: str, partial: str, status: int = 200, **context):
    """Answer the whole page, or only the partial when HTMX asked for it. The same URL answers
    either, so caches are told to keep them apart."""
    return render_template(partial if is_htmx() else page, **context), status, {"Vary": "HX-Request"}


def require(permission: str) -> Callable:
    """Sign-in plus a role permission; a signed-in user without it gets 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def client_ip() -> str:
    # Behind a proxy, set TRUSTED_PROXIES so remote_addr is the client (see create_app).
    return request.remote_addr or "unknown"


MAX_ID = 2**63 - 1


def cursor_arg(name: str = "before") -> int | None:
    """A keyset-pagination cursor from the query string; a malformed or absurd one is a 400."""
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit() or int(value) > MAX_ID:
        abort(400, description=f"“{name}” must be a whole number: the id the “Older” link gives.")
    return int(value)


def store_from_url_or_404(slug: str):
    """The store a webhook or callback URL names; an unknown slug is a 404."""
    store = db.session.scalar(select(Store).where(Store.slug == slug))
    if store is None:
        abort(404)
    return store


def runtime_settings() -> RuntimeSettings:
    """The app's RuntimeSettings, for the domain calls a view makes."""
    return current_app.extensions["runtime_settings"]
