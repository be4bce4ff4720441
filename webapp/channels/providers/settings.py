"""A store's provider accounts: validated against the provider's declared fields, secrets
encrypted at rest and never shown back beyond their last four characters."""
from __future__ import annotations

import json
from urllib.parse import urlparse

from sqlalchemy import func, select

from webapp.audit.models import record
from webapp.channels.providers.registry import providers
from webapp.channels.registry import get_channel
from webapp.crypto import last_four, vault
from webapp.extensions import db
from webapp.notifications.models import ProviderConfig


class ProviderSettingsError(ValueError):
    """The provider configuration given is not usable; the message says why."""


def configure_provider(store_id: int, channel: str, code: str, values: dict[str, str], base_url: str | None = None,
                       user_id: int | None = None, enabled: bool = True) -> ProviderConfig:
    """Add the provider to the end of the channel's failover chain, or update it if already there."""
    cls = providers().get(code)
    if cls is None:
        raise ProviderSettingsError(f"Unknown provider “{code}”; choose one of {', '.join(sorted(providers()))}.")
    if get_channel(channel) is None or channel not in cls.spec.channels:
        raise ProviderSettingsError(f"{cls.spec.label} does not serve the “{channel}” channel.")
    fields = {f.name: f for f in cls.spec.fields}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ProviderSettingsError(f"{cls.spec.label} has no field {', '.join(unknown)}.")
    if base_url and urlparse(base_url).scheme not in ("http", "https"):
        raise ProviderSettingsError("The API base URL must start with https:// (or http:// for a local test server).")
    row = db.session.scalar(select(ProviderConfig).where(ProviderConfig.store_id == store_id,
                                                         ProviderConfig.channel == channel,
                                                         ProviderConfig.provider == code))
    current = _secrets(row) if row else {}
    merged_secrets = {**current, **{k: v for k, v in values.items() if fields[k].secret and v}}
    settings = {**((row.settings or {}) if row else {}), **{k: v for k, v in values.items() if not fields[k].secret}}
    missing = [f.label for f in fields.values() if f.required and not (settings.get(f.name) or
                                                                        merged_secrets.get(f.name))]
    if missing:
        raise ProviderSettingsError(f"{cls.spec.label} needs: {', '.join(missing)}.")
    if row is None:
        position = db.session.scalar(select(func.count()).select_from(ProviderConfig).where(
            ProviderConfig.store_id == store_id, ProviderConfig.channel == channel)) or 0
        row = ProviderConfig(store_id=store_id, channel=channel, provider=code, position=position)
        db.session.add(row)
    row.settings, row.base_url, row.enabled = settings, base_url or None, enabled
    row.secrets_encrypted = vault().encrypt(json.dumps(merged_secrets)) if merged_secrets else None
    record(store_id, user_id, "provider.configured", f"{cls.spec.label} for {channel}",
           new={"settings": settings, "secrets": {k: last_four(v) for k, v in merged_secrets.items()},
                "base_url": base_url, "enabled": enabled})
    db.session.commit()
    return row


def _secrets(row: ProviderConfig) -> dict:
    return json.loads(vault().decrypt(row.secrets_encrypted)) if row.secrets_encrypted else {}


def describe(row: ProviderConfig) -> dict:
    """What may be shown of a configured provider: settings, and secrets as their last four characters."""
    return {"id": row.id, "channel": row.channel, "provider": row.provider, "position": row.position,
            "enabled": row.enabled, "base_url": row.base_url, "settings": row.settings or {},
            "secrets": {k: last_four(v) for k, v in _secrets(row).items()}}


def list_providers(store_id: int) -> list[ProviderConfig]:
    return list(db.session.scalars(select(ProviderConfig).where(ProviderConfig.store_id == store_id)
                                   .order_by(ProviderConfig.channel, ProviderConfig.position, ProviderConfig.id)))
