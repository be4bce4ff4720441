"""Provider classes by code, and a store's failover chain for a channel."""
from __future__ import annotations

import json

from sqlalchemy import select

from webapp.channels.providers.base import Provider
from webapp.channels.providers.sandbox import SandboxProvider
from webapp.channels.providers.webhook import WebhookProvider
from webapp.crypto import vault
from webapp.extensions import db
from webapp.notifications.models import ProviderConfig

PROVIDERS: dict[str, type] = {cls.spec.code: cls for cls in (SandboxProvider, WebhookProvider)}


def provider_chain(store_id: int, channel: str) -> list[tuple[str, Provider | Exception]]:
    """The enabled providers of a channel in failover order; the sandbox when none is set up.

    A provider that cannot even be built (bad settings) is returned as its exception, so
    delivery records why and moves on to the next.
    """
    configs = db.session.scalars(
        select(ProviderConfig)
        .where(ProviderConfig.store_id == store_id, ProviderConfig.channel == channel,
               ProviderConfig.enabled.is_(True))
        .order_by(ProviderConfig.position, ProviderConfig.id)
    ).all()
    if not configs:
        return [("sandbox", SandboxProvider())]
    return [(config.provider, _build(config)) for config in configs]


def _build(config: ProviderConfig) -> Provider | Exception:
    cls = PROVIDERS.get(config.provider)
    if cls is None:
        return LookupError(f"unknown provider {config.provider}")
    try:
        secrets = json.loads(vault().decrypt(config.secrets_encrypted)) if config.secrets_encrypted else {}
        return cls(settings=config.settings or {}, secrets=secrets, base_url=config.base_url)
    except Exception as error:  # a broken config must not stop the chain
        return error
