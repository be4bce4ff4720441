"""The link a customer downloads their GDPR data export from, without logging in.

The token names the store, the request and the moment it stops working, signed with a key derived
from the app's SECRET_KEY (its own derivation and salt, so no other signed link of the app can be
passed off as one). The expiry is inside the signed value rather than the signing time, so the
same request always has the same link: showing it again never extends it.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

VALID_FOR = timedelta(days=7)
_SALT = "gdpr-export-v1"
_FALLBACK_BASE_URL = "http://127.0.0.1:5000"  # as the consent links: development without PUBLIC_BASE_URL


@dataclass(frozen=True)
class ExportLink:
    store_id: int
    request_id: int
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class ExportLinks:
    """Built by the caller from the app's SECRET_KEY and public base URL, handed to domain code."""

    secret_key: str
    base_url: str = ""

    @classmethod
    def from_config(cls, config: Mapping) -> ExportLinks:
        return cls(config["SECRET_KEY"], config.get("PUBLIC_BASE_URL") or "")

    def _serializer(self) -> URLSafeSerializer:
        key = hmac.new(self.secret_key.encode(), b"gdpr exports", hashlib.sha256).hexdigest()
        return URLSafeSerializer(key, salt=_SALT)

    def token(self, store_id: int, request_id: int, ready_at: datetime) -> str:
        expires = int((ready_at + VALID_FOR).timestamp())
        return self._serializer().dumps([store_id, request_id, expires])

    def url(self, store_id: int, request_id: int, ready_at: datetime) -> str:
        base = (self.base_url or _FALLBACK_BASE_URL).rstrip("/")
        return f"{base}/gdpr/download/{self.token(store_id, request_id, ready_at)}"

    def verify(self, value: str) -> ExportLink | None:
        """The link's target, or None for a forged, altered or malformed token (expired or not)."""
        try:
            store_id, request_id, expires = self._serializer().loads(value or "")
        except (BadSignature, ValueError, TypeError):
            return None
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (store_id, request_id, expires)):
            return None
        return ExportLink(store_id, request_id, datetime.fromtimestamp(expires, UTC))


def expires_at(ready_at: datetime) -> datetime:
    return ready_at + VALID_FOR
