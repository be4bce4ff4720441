"""Stores (tenants) and the staff users who sign in to them."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.accounts.permissions import role_can
from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow

# Werkzeug's default (scrypt) in production; the test suite swaps in a cheap method, since
# hashing dominates its run time otherwise.
PASSWORD_HASH = {"method": "scrypt"}


class Store(db.Model):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_locale: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Bumped by every save of the notification rules; guards against two people overwriting
    # each other's edits unseen.
    rules_revision: Mapped[int] = mapped_column(default=0)
    # Answered to a customer who texts HELP; None uses a built-in text naming the store.
    sms_help_text: Mapped[str | None] = mapped_column(String(320))
    # Branding of the email layout: accent colour (#rrggbb), logo image URL, the postal address in
    # the footer (marketing email must carry one).
    brand_color: Mapped[str | None] = mapped_column(String(7))
    logo_url: Mapped[str | None] = mapped_column(String(500))
    postal_address: Mapped[str | None] = mapped_column(String(300))
    # Quiet hours ("21:00" to "08:00", in the customer's timezone): marketing waits until they end.
    quiet_hours_start: Mapped[str | None] = mapped_column(String(5))
    quiet_hours_end: Mapped[str | None] = mapped_column(String(5))
    # Marketing frequency cap: at most this many marketing messages per customer a day / a week.
    marketing_cap_day: Mapped[int | None] = mapped_column()
    marketing_cap_week: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="store")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the id every session cookie carries (get_id): bumping it ends all of the user's
    # sessions everywhere, copied cookies included (sign-out, a new password).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when an owner removes the user: they can no longer sign in. The row stays, so the audit
    # log and what they sent keep naming them.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    store: Mapped[Store] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login: an inactive user cannot be signed in
        return self.removed_at is None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version or 0}"

    def end_sessions(self) -> None:
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_HASH["method"])
        if self.id is not None:
            self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def can(self, permission: str) -> bool:
        return role_can(self.role, permission)
