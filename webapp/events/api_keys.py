"""Store API keys: created once and shown once, kept only as a SHA-256, revocable."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from webapp.audit.models import record
from webapp.events.models import ApiKey
from webapp.extensions import db
from webapp.timeutil import utcnow

PREFIX = "nh_"


class ApiKeyError(ValueError):
    """The API key request is not valid."""


@dataclass(frozen=True)
class NewApiKey:
    row: ApiKey
    plaintext: str  # show it once; it cannot be recovered


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(store_id: int, name: str, user_id: int | None = None) -> NewApiKey:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ApiKeyError("Give the key a name of 1–100 characters, e.g. the system that will use it.")
    plaintext = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(store_id=store_id, name=name, prefix=plaintext[:10], key_hash=_digest(plaintext))
    db.session.add(row)
    db.session.flush()
    record(store_id, user_id, "api_key.created", name, new={"prefix": row.prefix})
    db.session.commit()
    return NewApiKey(row, plaintext)


def revoke_api_key(store_id: int, key_id: int, user_id: int | None = None) -> ApiKey:
    row = db.session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.store_id == store_id))
    if row is None:
        raise ApiKeyError("No such API key in this store.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(store_id, user_id, "api_key.revoked", row.name, old={"prefix": row.prefix})
        db.session.commit()
    return row


def authenticate(presented: str) -> ApiKey | None:
    """The live key matching a presented bearer token, or None."""
    if not presented.startswith(PREFIX):
        return None
    row = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(presented),
                                                 ApiKey.revoked_at.is_(None)))
    if row is not None:
        db.session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=utcnow()))
    return row


def list_api_keys(store_id: int) -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).where(ApiKey.store_id == store_id).order_by(ApiKey.id.desc())))
