"""A store's team: the owner adds staff with a role, changes roles and removes people.

Removing someone ends every session they have at once (their session version moves on) and keeps
their row, marked removed, so the audit log and the notifications they sent still name them. A
store always keeps at least one owner, and nobody removes or demotes themselves here, so an owner
cannot lock the store out of its own settings by a slip.
"""
from __future__ import annotations

from sqlalchemy import func, select

from webapp.accounts.models import Store, User
from webapp.accounts.permissions import OWNER, ROLES
from webapp.accounts.provisioning import EMAIL, MIN_PASSWORD
from webapp.audit.models import record
from webapp.extensions import db
from webapp.timeutil import utcnow


class TeamError(ValueError):
    """The change asked for is not allowed or not valid; the message says why, and nothing changed."""


def members(store_id: int) -> list[User]:
    return list(db.session.scalars(select(User).where(User.store_id == store_id, User.removed_at.is_(None))
                                   .order_by(User.email)))


def add_member(store: Store, email: str, role: str, password: str, by: User) -> User:
    email = (email or "").strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        raise TeamError(f"“{email[:60]}” is not an email address.")
    _check_role(role)
    if len(password or "") < MIN_PASSWORD:
        raise TeamError(f"The first password needs at least {MIN_PASSWORD} characters; they can change it later.")
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None and (user.store_id != store.id or user.removed_at is None):
        # Another store's user looks the same as a current member: which store it is stays private.
        raise TeamError(f"{email} already has a NotifyHub account.")
    if user is None:
        user = User(store=store, email=email, role=role)
        db.session.add(user)
    else:  # someone removed earlier comes back: same row, so their history stays theirs
        user.role, user.removed_at = role, None
        user.end_sessions()
    user.set_password(password)
    db.session.flush()
    record(store.id, by.id, "team.member_added", email, new={"role": role})
    db.session.commit()
    return user


def change_role(store_id: int, user_id: int, role: str, by: User) -> User:
    _check_role(role)
    user = _member(store_id, user_id)
    if user.role == role:
        return user
    if user.id == by.id:
        raise TeamError("You cannot change your own role; another owner can.")
    if user.role == OWNER:
        _keep_an_owner(store_id)
    old = user.role
    user.role = role
    record(store_id, by.id, "team.role_changed", user.email, old={"role": old}, new={"role": role})
    db.session.commit()
    return user


def remove_member(store_id: int, user_id: int, by: User) -> User:
    user = _member(store_id, user_id)
    if user.id == by.id:
        raise TeamError("You cannot remove yourself; another owner can.")
    if user.role == OWNER:
        _keep_an_owner(store_id)
    user.removed_at = utcnow()
    user.end_sessions()  # every browser they are signed in on is sent to the sign-in page
    record(store_id, by.id, "team.member_removed", user.email, old={"role": user.role})
    db.session.commit()
    return user


def _member(store_id: int, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.store_id != store_id or user.removed_at is not None:
        raise LookupError(user_id)  # another store's user is "not found", like any other id
    return user


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise TeamError(f"Choose a role: {', '.join(ROLES)}.")


def _keep_an_owner(store_id: int) -> None:
    owners = db.session.scalar(select(func.count()).select_from(User).where(
        User.store_id == store_id, User.role == OWNER, User.removed_at.is_(None)))
    if owners <= 1:
        raise TeamError("A store needs at least one owner: make someone else an owner first.")
