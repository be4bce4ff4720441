"""The store's inbox secret: the HMAC key of customer tokens, kept encrypted like the webhook
secrets (an IntegrationSecret row with source "inbox", so key rotation re-encrypts it too)."""
from __future__ import annotations

import secrets

from webapp.audit.models import record
from webapp.crypto import last_four, vault
from webapp.events.integrations import get_integration, secret_for
from webapp.events.models import IntegrationSecret
from webapp.extensions import db

SOURCE = "inbox"
MIN_SECRET = 32


class InboxSecretError(ValueError):
    """The secret given is not usable; the message says why."""


def inbox_secret(store_id: int) -> str | None:
    """The store's current inbox secret, or None when customer tokens are not set up."""
    return secret_for(store_id, SOURCE)


def rotate_inbox_secret(store_id: int, user_id: int | None = None, secret: str | None = None) -> str:
    """Create or replace the store's inbox secret and return it (show it once to the merchant).

    With no secret given, a random 64-hex-character one is made. Tokens signed with the old
    secret stop working at once.
    """
    secret = (secret if secret is not None else secrets.token_hex(32)).strip()
    if len(secret) < MIN_SECRET:
        raise InboxSecretError(f"The inbox secret must be at least {MIN_SECRET} characters.")
    row = get_integration(store_id, SOURCE)
    old_hint = row.secret_hint if row else None
    if row is None:
        row = IntegrationSecret(store_id=store_id, source=SOURCE)
        db.session.add(row)
    row.secret_encrypted, row.secret_hint = vault().encrypt(secret), last_four(secret)
    record(store_id, user_id, "integration.secret_set", SOURCE, old={"secret": old_hint} if old_hint else None,
           new={"secret": row.secret_hint})
    db.session.commit()
    return secret
