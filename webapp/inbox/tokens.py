"""Customer tokens for the storefront widget: minted by the merchant's backend, checked here.

A token is "<customer id>.<expiry, unix seconds>.<hex HMAC-SHA256>", the HMAC keyed with the
store's inbox secret over "<store slug>:<customer id>:<expiry>". It names one customer of one
store until it expires. Pure functions: no Flask, no database.
"""
from __future__ import annotations

import hashlib
import hmac
import re

# A token may live at most this long; a longer-lived one is refused, so a leaked token cannot
# stay a credential for years.
MAX_LIFETIME_SECONDS = 31 * 24 * 3600
_TOKEN = re.compile(r"(?P<customer>[1-9][0-9]{0,18})\.(?P<expiry>[0-9]{1,12})\.(?P<mac>[0-9a-fA-F]{64})")


class TokenError(ValueError):
    """Not a valid customer token for this store."""


class TokenExpired(TokenError):
    """A genuine token whose time is up: the page should mint a new one."""


def signature(secret: str, store_slug: str, customer_id: int, expiry: int) -> str:
    message = f"{store_slug}:{customer_id}:{expiry}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def mint_token(secret: str, store_slug: str, customer_id: int, expiry: int) -> str:
    """What the merchant's backend does (see docs/inbox.md); here for tests and tools."""
    return f"{customer_id}.{expiry}.{signature(secret, store_slug, customer_id, expiry)}"


def verify_token(secret: str, store_slug: str, token: str, now: float) -> int:
    """The customer id the token grants, or TokenError / TokenExpired."""
    match = _TOKEN.fullmatch(token or "")
    if match is None:
        raise TokenError("malformed customer token")
    customer_id, expiry = int(match["customer"]), int(match["expiry"])
    expected = signature(secret, store_slug, customer_id, expiry)
    if not hmac.compare_digest(expected, match["mac"].lower()):
        raise TokenError("customer token signature does not match")
    if expiry <= now:
        raise TokenExpired("customer token expired")
    if expiry > now + MAX_LIFETIME_SECONDS:
        raise TokenError("customer token expires too far in the future (at most 31 days)")
    return customer_id
