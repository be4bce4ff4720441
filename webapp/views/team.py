"""Settings → Team: the owner's list of the store's staff, adding people, changing their role and
removing them (which signs them out everywhere at once)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.accounts.permissions import MANAGE_SETTINGS, ROLES
from webapp.extensions import db
from webapp.team.members import TeamError, add_member, change_role, members, remove_member
from webapp.views import require

bp = Blueprint("team", __name__, url_prefix="/settings/team")
ROLE_HINTS = {
    "owner": "everything, including settings, providers, the team and the audit log",
    "marketer": "templates, promotions and campaigns, and the Activity pages",
    "support": "orders, activity, manual notifications and resends",
}


def _page(error: str | None = None, form: dict | None = None, status: int = 200):
    return render_template("team/index.html", members=members(current_user.store_id), roles=ROLES,
                           role_hints=ROLE_HINTS, error=error, form=form or {}), status


@bp.get("")
@require(MANAGE_SETTINGS)
def index():
    return _page()


@bp.post("")
@require(MANAGE_SETTINGS)
def add():
    form = {"email": request.form.get("email", ""), "role": request.form.get("role", "")}
    try:
        user = add_member(current_user.store, form["email"], form["role"], request.form.get("password", ""),
                          current_user)
    except TeamError as problem:
        db.session.rollback()
        return _page(str(problem), form, 400)
    flash(f"{user.email} can now sign in as {user.role}. Give them their first password in person or by phone.",
          "success")
    return redirect(url_for("team.index"))


@bp.post("/<int:user_id>/role")
@require(MANAGE_SETTINGS)
def set_role(user_id: int):
    return _change(lambda: change_role(current_user.store_id, user_id, request.form.get("role", ""), current_user),
                   lambda user: f"{user.email} is now {user.role}.")


@bp.post("/<int:user_id>/remove")
@require(MANAGE_SETTINGS)
def remove(user_id: int):
    return _change(lambda: remove_member(current_user.store_id, user_id, current_user),
                   lambda user: f"{user.email} was removed and signed out everywhere.")


def _change(apply, success):
    """Apply a change to one member: 404 for someone not in this store, the page with the reason
    when it is not allowed, else back to the list saying what happened."""
    try:
        user = apply()
    except LookupError:
        abort(404)
    except TeamError as problem:
        db.session.rollback()
        return _page(str(problem), status=400)
    flash(success(user), "success")
    return redirect(url_for("team.index"))
