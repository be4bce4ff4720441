"""Your account: changing your own password, which signs you out everywhere else."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from webapp.accounts.provisioning import MIN_PASSWORD
from webapp.extensions import db

bp = Blueprint("account", __name__, url_prefix="/account")


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    new = PasswordField("New password", validators=[
        DataRequired(), Length(min=MIN_PASSWORD, max=1024, message=f"At least {MIN_PASSWORD} characters.")])
    repeat = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new", message="The two new passwords are not the same.")])


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append("That is not your current password.")
        else:
            current_user.set_password(form.new.data)  # ends every session, this one's cookie included
            db.session.commit()
            login_user(current_user)  # ...so this browser gets a cookie of the new session version
            flash("Password changed. You were signed out everywhere else.", "success")
            return redirect(url_for("dashboard.index"))
    status = 400 if form.is_submitted() else 200
    return render_template("account/password.html", form=form), status
