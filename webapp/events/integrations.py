"""Per-store integration settings: the signing secret of each webhook source, encrypted at rest."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from webapp.audit.models import record
from webapp.crypto import last_four, vault
from webapp.events.models import IntegrationSecret
from webapp.extensions import db

# Sources that call our webhooks, and what their secret is called in their own admin.
WEBHOOK_SOURCES = {
    "shopify": "Webhook signing secret (Settings → Notifications → Webhooks)",
    "woocommerce": "Webhook secret (WooCommerce → Settings → Advanced → Webhooks)",
    "bigcommerce": "Value of the X-Webhook-Secret header set on the hook",
}
MIN_SECRET = 16
# Settings of an integration that the server connects to (with the store's API credentials), by
# source: checked when saved in production and again, by the egress gate, on every connection.
DESTINATION_SETTINGS = {"bigcommerce": {"api_base_url": "API base URL"}}


class IntegrationError(ValueError):
    """The integration settings given are not usable; the message says why."""


def set_secret(store_id: int, source: str, secret: str, user_id: int | None = None,
               settings: dict | None = None, api_token: str | None = None,
               check_destination: Callable[[str], None] | None = None) -> IntegrationSecret:
    """Save a source's signing secret (and settings, API token). `check_destination` (the egress
    gate's, in production) is given every setting the server connects to and raises ValueError for
    one it may not reach."""
    if source not in WEBHOOK_SOURCES:
        raise IntegrationError(f"“{source}” has no webhook integration; choose one of {', '.join(WEBHOOK_SOURCES)}.")
    secret = (secret or "").strip()
    if len(secret) < MIN_SECRET:
        raise IntegrationError(f"The secret must be at least {MIN_SECRET} characters.")
    if check_destination is not None:
        _check_destinations(source, settings or {}, check_destination)
    row = db.session.scalar(select(IntegrationSecret).where(IntegrationSecret.store_id == store_id,
                                                            IntegrationSecret.source == source))
    old_hint = row.secret_hint if row else None
    if row is None:
        row = IntegrationSecret(store_id=store_id, source=source)
        db.session.add(row)
    row.secret_encrypted, row.secret_hint = vault().encrypt(secret), last_four(secret)
    if settings is not None:
        row.settings = settings
    if api_token:
        row.api_token_encrypted = vault().encrypt(api_token)
    record(store_id, user_id, "integration.secret_set", source, old={"secret": old_hint} if old_hint else None,
           new={"secret": row.secret_hint})
    db.session.commit()
    return row


def _check_destinations(source: str, settings: dict, check_destination: Callable[[str], None]) -> None:
    for name, label in DESTINATION_SETTINGS.get(source, {}).items():
        if settings.get(name):
            try:
                check_destination(settings[name])
            except ValueError as error:
                raise IntegrationError(f"{label}: {error}; only public internet addresses are allowed.") from None


def get_integration(store_id: int, source: str) -> IntegrationSecret | None:
    return db.session.scalar(select(IntegrationSecret).where(IntegrationSecret.store_id == store_id,
                                                             IntegrationSecret.source == source))


def secret_for(store_id: int, source: str) -> str | None:
    row = get_integration(store_id, source)
    return vault().decrypt(row.secret_encrypted) if row else None


def api_token_for(row: IntegrationSecret) -> str | None:
    return vault().decrypt(row.api_token_encrypted) if row.api_token_encrypted else None

