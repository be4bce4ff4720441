"""Operator commands under `flask --app webapp …` for scripted provisioning."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from webapp.accounts.models import Store, User
from webapp.accounts.permissions import ROLES
from webapp.accounts.provisioning import ProvisioningError, create_store, create_user, store_by_slug
from webapp.extensions import db

stores = AppGroup("stores", help="Create and list stores.")
users = AppGroup("users", help="Create staff users.")


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
def seed_demo_command():
    """Create the demo store, users, customers, orders and rules (idempotent)."""
    from webapp.demo import DEMO_USERS, seed_demo

    store = seed_demo()
    click.echo(f"Demo store “{store.name}” ({store.slug}) is ready. Sign in as:")
    for email, role, password in DEMO_USERS:
        click.echo(f"  {role:<9} {email} / {password}")


def register(app: Flask) -> None:
    for command in (stores, users, seed_demo_command):
        app.cli.add_command(command)
