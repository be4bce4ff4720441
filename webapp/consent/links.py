"""Signed links a shopper uses without logging in: one-click unsubscribe (RFC 8058) and the
preference centre. The token names the store, the customer and the channel, signed with a key
derived from the app's SECRET_KEY; it never expires, because an unsubscribe link in a years-old
email must still work.

Configured once per app (create_app), like the egress policy, so the planner's callers need not
carry the secret around.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer

ALL_CHANNELS = "*"
_SALT = "consent-links-v1"


@dataclass(frozen=True)
class LinkTarget:
    store_id: int
    customer_id: int
    channel: str  # a consent channel, or ALL_CHANNELS for the preference centre


class _Config:
    serializer = URLSafeSerializer("unconfigured", salt=_SALT)
    base_url = "http://127.0.0.1:5000"


def configure(secret_key: str, public_base_url: str = "") -> None:
    key = hmac.new(secret_key.encode(), b"consent links", hashlib.sha256).hexdigest()
    _Config.serializer = URLSafeSerializer(key, salt=_SALT)
    if public_base_url:
        _Config.base_url = public_base_url.rstrip("/")


def base_url() -> str:
    """Where the signed links point: the app's public address."""
    return _Config.base_url


def token(store_id: int, customer_id: int, channel: str) -> str:
    return _Config.serializer.dumps([store_id, customer_id, channel])


def verify(value: str) -> LinkTarget | None:
    """The link's target, or None for a forged, altered or malformed token."""
    try:
        store_id, customer_id, channel = _Config.serializer.loads(value or "")
    except (BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(store_id, int) and isinstance(customer_id, int) and isinstance(channel, str)):
        return None
    return LinkTarget(store_id, customer_id, channel)


def unsubscribe_links(store_id: int, customer_id: int, channel: str = "email") -> dict[str, str]:
    """The one-click URL, a mailto fallback, and the preference centre, for PlanRequest.unsubscribe."""
    one_click = token(store_id, customer_id, channel)
    host = urlsplit(_Config.base_url).hostname or "localhost"
    return {"one_click": f"{_Config.base_url}/unsubscribe/{one_click}",
            "mailto": f"mailto:unsubscribe@{host}?subject=unsubscribe%20{one_click}",
            "preferences": f"{_Config.base_url}/preferences/{token(store_id, customer_id, ALL_CHANNELS)}"}
