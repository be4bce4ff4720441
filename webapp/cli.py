"""Operator commands under `flask --app webapp …` for scripted provisioning."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from webapp.accounts.models import Store, User
from webapp.accounts.permissions import ROLES
from webapp.accounts.provisioning import ProvisioningError, create_store, create_user, store_by_slug
from webapp.extensions import db

stores = AppGroup("stores", help="Create and list stores.")
users = AppGroup("users", help="Create staff users.")
apikeys = AppGroup("apikeys", help="Create, list and revoke store API keys.")
integrations = AppGroup("integrations", help="Set webhook signing secrets per source.")
notifications = AppGroup("notifications", help="Operate the notification outbox.")
providers_group = AppGroup("providers", help="Configure a store's delivery providers per channel.")
secrets_group = AppGroup("secrets", help="Encryption keys for stored credentials.")


@stores.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name of the store.")
@click.option("--locale", default="en", show_default=True, help="Default customer language.")
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--currency", default="USD", show_default=True)
def stores_create(slug, name, locale, timezone, currency):
    """Create a store with the given SLUG."""
    try:
        store = create_store(slug, name, locale, timezone, currency)
    except ProvisioningError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created store {store.slug} (id {store.id}).")


@stores.command("list")
def stores_list():
    """List every store with its number of users."""
    rows = db.session.execute(
        select(Store.slug, Store.name, Store.currency, func.count(User.id))
        .outerjoin(User, User.store_id == Store.id).group_by(Store.id).order_by(Store.slug)
    )
    for slug, name, currency, user_count in rows:
        click.echo(f"{slug}\t{name}\t{currency}\t{user_count} users")


@users.command("create")
@click.option("--store", "slug", required=True, help="Slug of the store the user works in.")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when omitted, so it stays out of shell history.")
def users_create(slug, email, role, password):
    """Create a staff user in a store."""
    try:
        user = create_user(store_by_slug(slug), email, role, password)
    except ProvisioningError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.role} {user.email} in store {slug}.")


@click.command("seed-demo")
@click.option("--upgrade", is_flag=True, help="Apply the database migrations first (what `make run` does).")
def seed_demo_command(upgrade):
    """Create the demo store, users, customers, orders and rules (idempotent)."""
    from flask_migrate import upgrade as upgrade_database

    from webapp.demo import DEMO_USERS, DEMO_WEBHOOK_SECRETS, seed_demo

    if upgrade:  # one process instead of two: `make run` starts that much sooner
        upgrade_database()
    store = seed_demo()
    click.echo(f"Demo store “{store.name}” ({store.slug}) is ready. Sign in as:")
    for email, role, password in DEMO_USERS:
        click.echo(f"  {role:<9} {email} / {password}")
    click.echo(f"Webhooks: /webhooks/<shopify|woocommerce|bigcommerce>/{store.slug}, signed with the demo secrets:")
    for source, secret in DEMO_WEBHOOK_SECRETS.items():
        click.echo(f"  {source:<12} {secret}")


@apikeys.command("create")
@click.option("--store", "slug", required=True)
@click.option("--name", default="API", show_default=True, help="What uses the key, e.g. the ERP.")
def apikeys_create(slug, name):
    """Create an API key; it is printed once and only its hash is kept."""
    from webapp.events.api_keys import ApiKeyError, create_api_key

    try:
        new = create_api_key(store_by_slug(slug).id, name)
    except (ProvisioningError, ApiKeyError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"API key {new.row.id} “{new.row.name}” for {slug} (shown once, store it now):")
    click.echo(new.plaintext)


@apikeys.command("list")
@click.option("--store", "slug", required=True)
def apikeys_list(slug):
    """List a store's API keys (prefixes only)."""
    from webapp.events.api_keys import list_api_keys

    try:
        store = store_by_slug(slug)
    except ProvisioningError as error:
        raise click.ClickException(str(error)) from error
    for key in list_api_keys(store.id):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.prefix}…\t{key.name}\t{state}")


@apikeys.command("revoke")
@click.option("--store", "slug", required=True)
@click.argument("key_id", type=int)
def apikeys_revoke(slug, key_id):
    """Revoke an API key by id."""
    from webapp.events.api_keys import ApiKeyError, revoke_api_key

    try:
        revoke_api_key(store_by_slug(slug).id, key_id)
    except (ProvisioningError, ApiKeyError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Revoked API key {key_id}.")


@integrations.command("set")
@click.argument("slug")
@click.argument("source")
@click.option("--secret", prompt=True, hide_input=True, help="Prompted for when omitted.")
@click.option("--store-hash", default=None, help="BigCommerce: the store hash, to fetch order details.")
@click.option("--api-token", default=None, help="BigCommerce: API account token, to fetch order details.")
@click.option("--api-base-url", default=None, help="BigCommerce: API base URL (default api.bigcommerce.com).")
def integrations_set(slug, source, secret, store_hash, api_token, api_base_url):
    """Set SOURCE's webhook secret for store SLUG (shopify, woocommerce, bigcommerce)."""
    from webapp.events.integrations import IntegrationError, set_secret

    settings = {k: v for k, v in (("store_hash", store_hash), ("api_base_url", api_base_url)) if v} or None
    try:
        row = set_secret(store_by_slug(slug).id, source, secret, settings=settings, api_token=api_token)
    except (ProvisioningError, IntegrationError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{source} secret set for {slug} ({row.secret_hint}).")


@notifications.command("sweep")
def notifications_sweep():
    """Re-enqueue notifications whose job was lost (workers also do this every 15 s)."""
    from webapp.pipeline.sweep import sweep

    click.echo(f"Re-enqueued {sweep(current_app.extensions['runtime_settings'])} item(s).")


@providers_group.command("set")
@click.argument("slug")
@click.argument("channel")
@click.argument("provider")
@click.option("--field", "fields", multiple=True, metavar="KEY=VALUE", help="A provider field; repeat as needed.")
@click.option("--base-url", default=None, help="API base URL: a regional endpoint or a test server.")
@click.option("--disabled", is_flag=True, help="Save it switched off.")
def providers_set(slug, channel, provider, fields, base_url, disabled):
    """Add or update PROVIDER for CHANNEL in store SLUG (appended to the failover order)."""
    from webapp.channels.accounts import ProviderSettingsError, configure_provider

    values = {}
    for item in fields:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.ClickException(f"--field takes KEY=VALUE, got “{item}”.")
        values[key.strip()] = value
    try:
        row = configure_provider(store_by_slug(slug).id, channel, provider, values, base_url, enabled=not disabled,
                                 production=current_app.extensions["runtime_settings"].production)
    except (ProvisioningError, ProviderSettingsError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{provider} set for {channel} in {slug} (position {row.position + 1}).")


@providers_group.command("list")
@click.argument("slug")
def providers_list(slug):
    """List a store's providers in failover order; secrets show only their last four characters."""
    from webapp.channels.accounts import describe, list_providers

    try:
        store = store_by_slug(slug)
    except ProvisioningError as error:
        raise click.ClickException(str(error)) from error
    for row in list_providers(store.id):
        info = describe(row)
        state = "on" if info["enabled"] else "off"
        click.echo(f"{info['channel']}\t{info['position'] + 1}\t{info['provider']}\t{state}\t"
                   f"{info['settings']}\t{info['secrets']}\t{info['base_url'] or ''}")


@stores.command("inbox-secret")
@click.argument("slug")
def stores_inbox_secret(slug):
    """Create or replace the secret that signs a store's in-app inbox customer tokens (shown once)."""
    from webapp.inbox.secrets import rotate_inbox_secret

    try:
        store = store_by_slug(slug)
    except ProvisioningError as error:
        raise click.ClickException(str(error)) from error
    click.echo(rotate_inbox_secret(store.id))
    click.echo("Give this to the storefront's backend; tokens signed with the previous secret stop working.",
               err=True)


@secrets_group.command("generate-key")
def secrets_generate_key():
    """Print a new key to put first in ENCRYPTION_KEY."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@secrets_group.command("rotate")
def secrets_rotate():
    """Re-encrypt every stored secret with the first key of ENCRYPTION_KEY."""
    from webapp.crypto import SecretUnreadable
    from webapp.key_rotation import rotate_all

    try:
        counts = rotate_all()
    except SecretUnreadable as error:
        raise click.ClickException(f"{error}; nothing was changed. Keep every old key in ENCRYPTION_KEY "
                                   "until rotation succeeds.") from None
    for name, count in counts.items():
        click.echo(f"{name}\t{count} re-encrypted")
    click.echo("Done. The keys after the first in ENCRYPTION_KEY can now be removed.")


def register(app: Flask) -> None:
    for command in (stores, users, apikeys, integrations, notifications, providers_group, secrets_group,
                    seed_demo_command):
        app.cli.add_command(command)
