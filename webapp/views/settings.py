"""Settings → Customer Notifications: the rule matrix, toggled in place and saved at once."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from webapp import vocabulary
from webapp.accounts.permissions import MANAGE_SETTINGS
from webapp.channels.registry import rule_channels
from webapp.notifications.rule_store import RulesChangedElsewhere, load_rules, rules_revision, save_rules
from webapp.notifications.rules import RuleFormError, all_rule_keys, diff_rules, parse_rules_form
from webapp.views import is_htmx, render_page, require

bp = Blueprint("settings", __name__, url_prefix="/settings")

PAGE = "settings/notifications.html"
FORM = "settings/_rules_form.html"


def _context(state, saved, revision, **extra):
    changed = {change.key for change in diff_rules(saved, state)}
    return {
        "vocabulary": vocabulary,
        "channels": rule_channels(),
        "keys": all_rule_keys(),
        "state": state,
        "changed": changed,
        "revision": revision,
        **extra,
    }


def _parse_revision() -> int:
    value = request.form.get("revision", "")
    if not value.isdigit():
        raise RuleFormError("The form is missing its revision; reload the page.")
    return int(value)


def _submitted_form() -> dict[str, str]:
    return {name: value for name, value in request.form.items() if name != "revision"}


@bp.get("/notifications")
@require(MANAGE_SETTINGS)
def notifications():
    store_id = current_user.store_id
    saved = load_rules(store_id)
    return render_page(PAGE, FORM, **_context(saved, saved, rules_revision(store_id)))


@bp.post("/notifications/preview")
@require(MANAGE_SETTINGS)
def preview():
    """Re-render the form with the toggles as the user left them, marking unsaved rows."""
    store_id = current_user.store_id
    saved = load_rules(store_id)
    try:
        revision = _parse_revision()
        state = parse_rules_form(_submitted_form(), [c.code for c in rule_channels()], saved)
    except RuleFormError as error:
        return render_page(PAGE, FORM, 400, **_context(saved, saved, rules_revision(store_id),
                                                       error=str(error)))
    return render_page(PAGE, FORM, **_context(state, saved, revision))


@bp.post("/notifications")
@require(MANAGE_SETTINGS)
def save_notifications():
    store_id = current_user.store_id
    saved = load_rules(store_id)
    try:
        revision = _parse_revision()
        state = parse_rules_form(_submitted_form(), [c.code for c in rule_channels()], saved)
    except RuleFormError as error:
        return render_page(PAGE, FORM, 400, **_context(saved, saved, rules_revision(store_id),
                                                       error=str(error)))
    try:
        changes = save_rules(store_id, current_user.id, state, expected_revision=revision)
    except RulesChangedElsewhere as error:
        # Keep what the user entered; the new revision lets a second Save overwrite knowingly.
        return render_page(PAGE, FORM, 409, **_context(state, load_rules(store_id), error.current_revision,
                                                       error=str(error)))
    except SQLAlchemyError:
        return render_page(PAGE, FORM, 503, **_context(state, saved, revision,
                                                       error="The rules could not be saved because the "
                                                             "database is unavailable. Nothing was changed; "
                                                             "your edits are still on this page."))
    count = len(changes)
    message = f"Saved {count} rule{'s' if count != 1 else ''}." if changes else "No changes to save."
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("settings.notifications"))
    saved = load_rules(store_id)
    return render_page(PAGE, FORM, **_context(saved, saved, rules_revision(store_id), notice=message))
