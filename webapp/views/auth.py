"""Sign in and sign out."""
from __future__ import annotations

import re
import secrets

import redis
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from webapp.accounts.login_throttle import Throttle
from webapp.accounts.models import User
from webapp.extensions import db, login_manager
from webapp.redis_conn import get_redis
from webapp.views import client_ip

bp = Blueprint("auth", __name__)
DUMMY_USER = User(email="", role="")
DUMMY_USER.set_password(secrets.token_hex(16))


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session id "<user id>:<session version>"; a session ended since (sign-out, new
    password) or of a removed user finds nobody, and the browser is sent to sign in."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or (user.session_version or 0) != int(version):
        return None
    return user


def _throttle() -> Throttle:
    return Throttle(current_app.config["LOGIN_MAX_FAILURES"], current_app.config["LOGIN_LOCKOUT_SECONDS"])


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status

    email, ip = form.email.data.strip().lower(), client_ip()
    throttle = _throttle()
    try:
        conn = get_redis()
        # Count the attempt before checking the password, so parallel guesses cannot all slip in.
        wait = throttle.reserve(conn, email, ip)
    except (redis.ConnectionError, redis.TimeoutError):
        form.form_errors.append("Sign-in is unavailable for a moment. Please try again shortly.")
        return render_template("auth/login.html", form=form), 503
    if wait:
        when = f"{wait} seconds" if wait < 90 else f"about {round(wait / 60)} minutes"
        form.form_errors.append(f"Too many failed sign-ins. Try again in {when}.")
        return render_template("auth/login.html", form=form), 429

    user = db.session.scalar(select(User).where(User.email == email, User.removed_at.is_(None)))
    # Unknown addresses pay for a hash check too, so timing does not tell which accounts exist.
    if not (user or DUMMY_USER).check_password(form.password.data) or user is None:
        form.form_errors.append("That email and password do not match an account.")
        return render_template("auth/login.html", form=form), 401

    throttle.record_success(conn, email, ip)
    login_user(user)
    return redirect(_safe_next(request.args.get("next")) or url_for("dashboard.index"))


SAFE_PATH = re.compile(r"^/(?![/\\])[\x21-\x7e]*$")  # printable ASCII, no "//" or "/\" start


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so the login page cannot be used as an open redirect.
    Browsers drop tabs and newlines, so "/\t/evil.example" would become "//evil.example"."""
    return target if target and SAFE_PATH.match(target) else None


@bp.post("/logout")
@login_required
def logout():
    # Ends every session of this user, not only this browser's: a cookie copied earlier stops working.
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    flash("You have been signed out.", "info")
    return redirect(url_for("auth.login"))
