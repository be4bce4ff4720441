"""Creating stores and users, with the validation the CLI and the demo seed share."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from sqlalchemy import select

from webapp.accounts.models import Store, User
from webapp.accounts.permissions import ROLES
from webapp.extensions import db

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


class ProvisioningError(ValueError):
    """The store or user could not be created as asked; the message says why."""


def create_store(slug: str, name: str, default_locale: str = "en", timezone: str = "UTC",
                 currency: str = "USD") -> Store:
    if not SLUG.match(slug):
        raise ProvisioningError(f"Slug “{slug}” must be 2–63 lowercase letters, digits or dashes.")
    if not name.strip():
        raise ProvisioningError("A store needs a name.")
    try:
        Locale.parse(default_locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError) as error:
        raise ProvisioningError(f"Unknown locale “{default_locale}”.") from error
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ProvisioningError(f"Unknown time zone “{timezone}”.") from error
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ProvisioningError(f"Currency “{currency}” must be a three-letter ISO code such as USD.")
    if db.session.scalar(select(Store.id).where(Store.slug == slug)):
        raise ProvisioningError(f"A store with slug “{slug}” already exists.")
    store = Store(slug=slug, name=name.strip(), default_locale=default_locale, timezone=timezone,
                  currency=currency)
    db.session.add(store)
    db.session.commit()
    return store


def create_user(store: Store, email: str, role: str, password: str) -> User:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise ProvisioningError(f"“{email}” is not an email address.")
    if role not in ROLES:
        raise ProvisioningError(f"Role must be one of {', '.join(ROLES)}.")
    if len(password) < MIN_PASSWORD:
        raise ProvisioningError(f"Passwords need at least {MIN_PASSWORD} characters.")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise ProvisioningError(f"A user with email {email} already exists.")
    user = User(store=store, email=email, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def store_by_slug(slug: str) -> Store:
    store = db.session.scalar(select(Store).where(Store.slug == slug))
    if store is None:
        raise ProvisioningError(f"No store with slug “{slug}”.")
    return store
