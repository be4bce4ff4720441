"""A store's provider accounts: validated against the provider's declared fields, secrets
encrypted at rest and never shown back beyond their last four characters.

Also reordering the failover chain, switching a provider off, setting its sending limits and removing
it. Test messages are in test_sends.py; recent delivery health (read from the outbox) in
webapp/dispatch/provider_health.py.
"""
from __future__ import annotations

import json
import logging
from urllib.parse import urlparse

from sqlalchemy import func, select

from webapp.audit.models import record
from webapp.channels.egress import PrivateDestination, check_destination
from webapp.channels.models import ProviderConfig
from webapp.channels.providers.callbacks import Account
from webapp.channels.providers.registry import decrypted_secrets, providers
from webapp.channels.rate_limit import as_json, parse_limits
from webapp.channels.registry import get_channel
from webapp.crypto import last_four, vault
from webapp.extensions import db

log = logging.getLogger(__name__)

MAX_VALUE_LENGTH = 2000
MAX_SECRET_LENGTH = 10_000
MAX_BASE_URL_LENGTH = 500  # the column's size


class ProviderSettingsError(ValueError):
    """The provider configuration given is not usable; the message says why, `fields` which
    fields (by name) are at fault, so a form can mark them."""

    def __init__(self, message: str, fields: tuple[str, ...] = ()):
        super().__init__(message)
        self.fields = fields


class ProviderNotFound(LookupError):
    """No such provider configuration in this store (another store's id included)."""


def configure_provider(store_id: int, channel: str, code: str, values: dict[str, str], base_url: str | None = None,
                       user_id: int | None = None, enabled: bool = True, production: bool = False) -> ProviderConfig:
    """Add the provider to the end of the channel's failover chain, or update it if already there.

    Secret fields left empty keep their saved value; a non-secret field given empty is cleared, one
    not given at all is kept. In `production` (RuntimeSettings) every address the settings make the
    server reach must be a public one.
    """
    cls = providers().get(code)
    if cls is None:
        raise ProviderSettingsError(f"Unknown provider “{code}”; choose one of {', '.join(sorted(providers()))}.",
                                    ("provider",))
    if get_channel(channel) is None or channel not in cls.spec.channels:
        raise ProviderSettingsError(f"{cls.spec.label} does not serve the “{channel}” channel.", ("provider",))
    fields = {f.name: f for f in cls.spec.fields}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ProviderSettingsError(f"{cls.spec.label} has no field {', '.join(unknown)}.")
    too_long = [k for k, v in values.items() if len(v or "") > _length_limit(fields[k])]
    if too_long:
        limits = sorted({_length_limit(fields[k]) for k in too_long})
        raise ProviderSettingsError(f"Too long (at most {' or '.join(map(str, limits))} characters): "
                                    f"{', '.join(fields[k].label for k in too_long)}.", tuple(too_long))
    _check_base_url(base_url)
    if production:
        _check_destinations(values, base_url, fields)
    row = db.session.scalar(select(ProviderConfig).where(ProviderConfig.store_id == store_id,
                                                         ProviderConfig.channel == channel,
                                                         ProviderConfig.provider == code))
    current = decrypted_secrets(row) if row else {}
    merged_secrets = {**current, **{k: v for k, v in values.items() if fields[k].secret and v}}
    settings = {**((row.settings or {}) if row else {}), **{k: v for k, v in values.items() if not fields[k].secret}}
    settings = {k: v for k, v in settings.items() if v not in ("", None)}
    missing = [f for f in fields.values() if f.required and not (settings.get(f.name) or merged_secrets.get(f.name))]
    if missing:
        raise ProviderSettingsError(f"{cls.spec.label} needs: {', '.join(f.label for f in missing)}.",
                                    tuple(f.name for f in missing))
    old = _audit_view(row) if row else None
    if row is None:
        position = db.session.scalar(select(func.coalesce(func.max(ProviderConfig.position) + 1, 0)).where(
            ProviderConfig.store_id == store_id, ProviderConfig.channel == channel)) or 0
        row = ProviderConfig(store_id=store_id, channel=channel, provider=code, position=position)
        db.session.add(row)
    row.settings, row.base_url, row.enabled = settings, base_url or None, enabled
    row.secrets_encrypted = vault().encrypt(json.dumps(merged_secrets)) if merged_secrets else None
    record(store_id, user_id, "provider.configured", f"{cls.spec.label} for {channel}", old=old,
           new={"settings": settings, "secrets": {k: last_four(v) for k, v in merged_secrets.items()},
                "base_url": base_url or None, "enabled": enabled})
    db.session.commit()
    return row


def _length_limit(config) -> int:
    # Keys and key files (a service account JSON with its RSA key is about 2,400 characters) are longer.
    return MAX_SECRET_LENGTH if config.secret else MAX_VALUE_LENGTH


def _check_base_url(base_url: str | None) -> None:
    if not base_url:
        return
    parts = urlparse(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in base_url):
        raise ProviderSettingsError("The API base URL must start with https:// (or http:// for a local test "
                                    "server), followed by a host name.", ("base_url",))
    if len(base_url) > MAX_BASE_URL_LENGTH:
        raise ProviderSettingsError(f"The API base URL is too long (at most {MAX_BASE_URL_LENGTH} characters).",
                                    ("base_url",))


def _check_destinations(values: dict[str, str], base_url: str | None, fields: dict) -> None:
    targets = [("base_url", base_url)] if base_url else []
    targets += [(name, url) for name, value in values.items() for url in fields[name].destinations(value)]
    for name, value in targets:
        try:
            check_destination(value)
        except PrivateDestination as error:
            label = "API base URL" if name == "base_url" else fields[name].label
            raise ProviderSettingsError(f"{label}: {error}; only public internet addresses are allowed.",
                                        (name,)) from None


def _audit_view(row: ProviderConfig) -> dict:
    secrets = {k: last_four(v) for k, v in decrypted_secrets(row).items()}
    return {"settings": dict(row.settings or {}), "secrets": secrets,
            "base_url": row.base_url, "enabled": row.enabled, "position": row.position + 1}


def describe(row: ProviderConfig) -> dict:
    """What may be shown of a configured provider: settings, and secrets as their last four characters."""
    return {"id": row.id, "channel": row.channel, "provider": row.provider, "position": row.position,
            "enabled": row.enabled, "base_url": row.base_url, "settings": row.settings or {},
            "secrets": {k: last_four(v) for k, v in decrypted_secrets(row).items()}}


def list_providers(store_id: int, channel: str | None = None) -> list[ProviderConfig]:
    query = select(ProviderConfig).where(ProviderConfig.store_id == store_id)
    if channel is not None:
        query = query.where(ProviderConfig.channel == channel)
    return list(db.session.scalars(query.order_by(ProviderConfig.channel, ProviderConfig.position,
                                                  ProviderConfig.id)))


def provider_label(code: str) -> str:
    cls = providers().get(code)
    return cls.spec.label if cls else code


def get_provider(store_id: int, config_id: int) -> ProviderConfig:
    row = db.session.scalar(select(ProviderConfig).where(ProviderConfig.id == config_id,
                                                         ProviderConfig.store_id == store_id))
    if row is None:
        raise ProviderNotFound(config_id)
    return row


def _chain_for_update(store_id: int, channel: str) -> list[ProviderConfig]:
    """The channel's rows in failover order, locked (PostgreSQL) so two reorders cannot interleave."""
    return list(db.session.scalars(
        select(ProviderConfig).where(ProviderConfig.store_id == store_id, ProviderConfig.channel == channel)
        .order_by(ProviderConfig.position, ProviderConfig.id).with_for_update()))


def _renumber(rows: list[ProviderConfig]) -> None:
    for position, row in enumerate(rows):
        if row.position != position:
            row.position = position


def set_enabled(store_id: int, config_id: int, enabled: bool, user_id: int | None = None) -> ProviderConfig:
    row = get_provider(store_id, config_id)
    if row.enabled != enabled:
        record(store_id, user_id, "provider.enabled" if enabled else "provider.disabled",
               f"{provider_label(row.provider)} for {row.channel}", old={"enabled": row.enabled},
               new={"enabled": enabled})
        row.enabled = enabled
    db.session.commit()
    return row


def move_provider(store_id: int, config_id: int, offset: int, user_id: int | None = None) -> ProviderConfig:
    """Move a provider up (offset -1) or down (+1) the failover order, in one transaction; the
    channel's positions come out as 0..n-1 whatever gaps or ties they had before."""
    row = get_provider(store_id, config_id)
    chain = _chain_for_update(store_id, row.channel)
    index = next(i for i, r in enumerate(chain) if r.id == row.id)
    target = index + offset
    if 0 <= target < len(chain) and target != index:
        before = [r.provider for r in chain]
        chain.insert(target, chain.pop(index))
        record(store_id, user_id, "provider.reordered", f"{row.channel} failover order",
               old={"order": before}, new={"order": [r.provider for r in chain]})
    _renumber(chain)
    db.session.commit()
    return row


def remove_provider(store_id: int, config_id: int, user_id: int | None = None) -> str:
    """Delete a provider account (its secrets with it); returns its label."""
    row = get_provider(store_id, config_id)
    channel, label = row.channel, provider_label(row.provider)
    chain = _chain_for_update(store_id, channel)
    record(store_id, user_id, "provider.removed", f"{label} for {channel}", old=_audit_view(row))
    db.session.delete(row)
    _renumber([r for r in chain if r.id != config_id])
    db.session.commit()
    return label


def set_rate_limits(store_id: int, config_id: int, raw: object, user_id: int | None = None) -> ProviderConfig:
    """Replace a provider account's sending limits (`[{"per": "minute", "limit": 600}]`; None or
    [] clears them), validated, audited. Marketing sent through the account keeps within them."""
    row = get_provider(store_id, config_id)
    limits, problems = parse_limits(raw)
    if problems:
        raise ProviderSettingsError("; ".join(problems) + ".", ("rate_limits",))
    new = as_json(limits)
    if new != row.rate_limits:
        record(store_id, user_id, "provider.rate_limits_set" if new else "provider.rate_limits_cleared",
               f"{provider_label(row.provider)} for {row.channel}", old={"rate_limits": row.rate_limits},
               new={"rate_limits": new})
        row.rate_limits = new
    db.session.commit()
    return row


def accounts_for(store_id: int, code: str) -> tuple[Account, ...]:
    """Every account the store configured for this provider (any channel, enabled or not), with its
    secrets decrypted: what a callback is verified against. An undecryptable one is left out."""
    rows = db.session.scalars(select(ProviderConfig).where(ProviderConfig.store_id == store_id,
                                                           ProviderConfig.provider == code)
                              .order_by(ProviderConfig.position, ProviderConfig.id))
    accounts = []
    for row in rows:
        try:
            accounts.append(Account(dict(row.settings or {}), decrypted_secrets(row)))
        except Exception:  # noqa: BLE001 - a key rotated away: that account verifies nothing
            log.warning("provider config %s: secrets unreadable; not used to verify callbacks", row.id)
    return tuple(accounts)
