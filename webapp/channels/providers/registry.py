"""Provider classes by code, and a store's failover chain for a channel.

Providers register through the `notifyhub.providers` entry-point group, the built-in ones too
(see pyproject.toml), so a separately installed package can add a channel's provider without a
change here. Each class carries a ProviderSpec: its code, channels and configuration fields.
"""
from __future__ import annotations

import json
import logging
from functools import lru_cache
from importlib.metadata import entry_points

from sqlalchemy import select

from webapp.accounts.models import Store
from webapp.channels.models import ProviderConfig
from webapp.channels.providers.base import Provider, ProviderSpec
from webapp.channels.providers.inbox import InboxProvider
from webapp.channels.providers.sandbox import SandboxProvider
from webapp.channels.providers.webhook import WebhookProvider
from webapp.crypto import vault
from webapp.extensions import db

ENTRY_POINT_GROUP = "notifyhub.providers"
# Used when the package metadata is not installed (running from a bare checkout).
BUILT_IN = (SandboxProvider, WebhookProvider, InboxProvider)
# A channel whose built-in provider needs no setup uses it when the store configured none.
DEFAULT_PROVIDER = {"in_app": InboxProvider}
log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def providers() -> dict[str, type]:
    found: dict[str, type] = {cls.spec.code: cls for cls in BUILT_IN}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = entry.load()
            spec = cls.spec
        except Exception:  # a broken plug-in must not take the built-in providers down with it
            log.exception("provider plug-in %s could not be loaded", entry.value)
            continue
        if not isinstance(spec, ProviderSpec):
            log.error("provider plug-in %s has no ProviderSpec; ignored", entry.value)
            continue
        found[spec.code] = cls
    return found


def specs_for(channel: str) -> list[ProviderSpec]:
    return sorted((cls.spec for cls in providers().values() if channel in cls.spec.channels),
                  key=lambda spec: spec.label)


def provider_chain(store_id: int, channel: str, public_base_url: str = "") -> list[tuple[str, Provider | Exception]]:
    """The enabled providers of a channel in failover order; when none is set up, the in-app inbox
    for in_app and the sandbox for the rest.

    A provider that cannot even be built (bad settings) is returned as its exception, so
    delivery records why and moves on to the next. `public_base_url` (RuntimeSettings) fills in
    receipt URLs the merchant left empty.
    """
    configs = db.session.scalars(
        select(ProviderConfig)
        .where(ProviderConfig.store_id == store_id, ProviderConfig.channel == channel,
               ProviderConfig.enabled.is_(True))
        .order_by(ProviderConfig.position, ProviderConfig.id)
    ).all()
    if not configs:
        default = DEFAULT_PROVIDER.get(channel, SandboxProvider)
        return [(default.spec.code, default())]
    return [(config.provider, build_provider(config, public_base_url)) for config in configs]


def _with_callback_url(spec: ProviderSpec, config: ProviderConfig, public: str) -> dict:
    settings = dict(config.settings or {})
    if spec.status_callback_path and public and not settings.get("status_callback_url"):
        slug = db.session.get(Store, config.store_id).slug
        settings["status_callback_url"] = public + spec.status_callback_path.format(store=slug)
    return settings


def decrypted_secrets(config: ProviderConfig) -> dict:
    """A provider account's secret fields, decrypted (raises SecretUnreadable after a lost key)."""
    return json.loads(vault().decrypt(config.secrets_encrypted)) if config.secrets_encrypted else {}


def build_provider(config: ProviderConfig, public_base_url: str = "") -> Provider | Exception:
    cls = providers().get(config.provider)
    if cls is None:
        return LookupError(f"unknown provider {config.provider}")
    try:
        secrets = decrypted_secrets(config)
        settings = _with_callback_url(cls.spec, config, public_base_url)
        return cls(settings=settings, secrets=secrets, base_url=config.base_url)
    except Exception as error:  # a broken config must not stop the chain
        return error
