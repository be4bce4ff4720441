"""Re-encrypting every stored secret with the newest ENCRYPTION_KEY.

Rotation: put a new key first in ENCRYPTION_KEY (comma-separated, the old ones after it), restart,
run `flask --app webapp secrets rotate`, then drop the old keys. MultiFernet decrypts with any
listed key and encrypts with the first, so the app keeps working at every step.
"""
from __future__ import annotations

from sqlalchemy import select

from webapp.channels.models import ProviderConfig
from webapp.crypto import vault
from webapp.events.models import IntegrationSecret
from webapp.extensions import db

# Every encrypted column. A new one must be listed here, or rotation would leave it behind.
ENCRYPTED_COLUMNS = (
    (ProviderConfig, "secrets_encrypted"),
    (IntegrationSecret, "secret_encrypted"),
    (IntegrationSecret, "api_token_encrypted"),
)


def rotate_all() -> dict[str, int]:
    """Re-encrypt everything in one transaction: a secret no key can read aborts the whole run."""
    counts: dict[str, int] = {}
    try:
        for model, column in ENCRYPTED_COLUMNS:
            # Locked, so a provider saved meanwhile is not overwritten with its old secret.
            rows = db.session.scalars(select(model).where(getattr(model, column).is_not(None))
                                      .with_for_update()).all()
            for row in rows:
                setattr(row, column, vault().rotate(getattr(row, column)))
            counts[f"{model.__tablename__}.{column}"] = len(rows)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return counts
