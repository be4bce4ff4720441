"""Dashboard blueprints (one module per area) and the few helpers they share."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, render_template, request
from flask_login import current_user, login_required


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def render_page(page: str, partial: str, status: int = 200, **context):
    """Answer the whole page, or only the partial when HTMX asked for it."""
    return render_template(partial if is_htmx() else page, **context), status


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
    # Behind a proxy, configure werkzeug's ProxyFix so remote_addr is the client's.
    return request.remote_addr or "unknown"
