"""Templates: every message type × channel, which locales the store has its own wording for, and an
editor per type and channel with locale tabs, a live preview, validation, history and restore.

Owners and marketers edit templates; support does not see them.
"""
from __future__ import annotations

import difflib

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.accounts.models import User
from webapp.accounts.permissions import EDIT_TEMPLATES
from webapp.channels.registry import get_channel
from webapp.channels.sms_segments import sms_size
from webapp.channels.test_sends import send_rendered_test
from webapp.extensions import db
from webapp.notifications.plan_requests import plan_request
from webapp.notifications.planner import template_context
from webapp.orders.models import Order
from webapp.templating import catalog, defaults, store_templates
from webapp.templating.branding import BrandingError, set_branding
from webapp.templating.render import TemplateRenderError
from webapp.templating.resolve import STORE, ResolvedTemplate, locale_name, resolve_template
from webapp.templating.store_templates import TemplateInvalid, TemplateKey
from webapp.templating.validate import validate
from webapp.views import require, runtime_settings
from webapp.views.read.template_preview import preview_message

bp = Blueprint("templates", __name__, url_prefix="/templates")


def sms_segments(text: str) -> int:
    return sms_size(text).segments


def max_segments() -> int:
    return runtime_settings().template_max_sms_segments


@bp.get("")
@require(EDIT_TEMPLATES)
def index():
    overrides = store_templates.overrides_for(current_user.store_id)
    mine: dict[tuple[str, str], list[str]] = {}
    for type_key, channel, locale in overrides:
        mine.setdefault((type_key, channel), []).append(locale)
    channels = [get_channel(code) for code in catalog.CUSTOMER_CHANNELS]
    return render_template("templates/index.html", types=list(catalog.MESSAGE_TYPES.values()), channels=channels,
                           mine=mine, locale_name=locale_name, locales_count=len(defaults.locales()))


def _key(type_key: str, channel: str, locale: str | None = None) -> TemplateKey:
    try:
        return TemplateKey.parse(type_key, channel, locale or current_user.store.default_locale or "en")
    except LookupError:
        abort(404)


def _locales(store_locale: str) -> list[str]:
    codes = list(defaults.locales())
    return sorted(set(codes) | {store_locale}, key=lambda code: (code != store_locale, code))


def _editor(key: TemplateKey, fields: dict | None = None, problems=(), status: int = 200):
    store = current_user.store
    mine = store_templates.current(store.id, key)
    overrides = store_templates.overrides_for(store.id)
    history = store_templates.history(store.id, key)
    resolved = resolve_template(key.message_type, key.channel, key.locale, store.default_locale, overrides)
    shown = fields if fields is not None else dict(resolved.fields)
    orders = db.session.scalars(select(Order).where(Order.store_id == store.id, Order.kind == "order")
                                .order_by(Order.id.desc()).limit(20)).all()
    return render_template(
        "templates/edit.html", key=key, message_type=catalog.get(key.message_type), channel=get_channel(key.channel),
        field_names=catalog.CHANNEL_FIELDS[key.channel], labels=catalog.FIELD_LABELS, fields=shown,
        problems=list(problems), mine=mine, resolved=resolved, locales=_locales(store.default_locale),
        mine_locales={loc for (t, c, loc) in overrides if (t, c) == (key.message_type, key.channel)},
        history=history, diffs=_diffs(history),
        authors=dict(db.session.execute(select(User.id, User.email).where(User.store_id == store.id)).all()),
        orders=orders, locale_name=locale_name,
        direction=defaults.direction(key.locale), preview=_preview(key, shown, None),
    ), status


def _diffs(history: list) -> dict[int, str]:
    """Each version's change from the one before it, as a unified diff of its fields."""
    diffs = {}
    for newer, older in zip(history, history[1:], strict=False):
        lines = []
        for name in sorted(set(newer.fields or {}) | set(older.fields or {})):
            before = ((older.fields or {}).get(name) or "").splitlines()
            after = ((newer.fields or {}).get(name) or "").splitlines()
            lines += difflib.unified_diff(before, after, f"{name} (v{older.version})", f"{name} (v{newer.version})",
                                          lineterm="")
        diffs[newer.id] = "\n".join(lines)
    return diffs


@bp.get("/<type_key>/<channel>")
@require(EDIT_TEMPLATES)
def edit(type_key: str, channel: str):
    return _editor(_key(type_key, channel, request.args.get("locale")))


def _submitted(key: TemplateKey) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in catalog.CHANNEL_FIELDS[key.channel]}


def _preview(key: TemplateKey, fields: dict, order_id: int | None) -> dict:
    store = current_user.store
    message_type = catalog.get(key.message_type)
    problems = validate(message_type, key.channel, {k: v for k, v in fields.items() if v},
                        sms_segments=sms_segments, max_segments=max_segments(), locale=key.locale)
    order = db.session.get(Order, order_id) if order_id else None
    if order is not None and order.store_id != store.id:
        order = None
    if order is not None and key.message_type.startswith(("order.", "invoice.")):
        kind, _, status = key.message_type.partition(".")
        context = template_context(plan_request(store, order, order.customer, kind, status), key.locale)
        source = f"order {order.number}"
    else:
        context, source = None, "sample data"
    try:
        rendered = preview_message(store, message_type, key, fields, context)
    except TemplateRenderError as error:
        return {"problems": problems, "error": str(error), "source": source}
    size = sms_size(rendered.body) if key.channel in ("sms", "whatsapp") else None
    return {"problems": problems, "rendered": rendered, "size": size, "source": source, "error": None}


@bp.post("/<type_key>/<channel>/preview")
@require(EDIT_TEMPLATES)
def preview(type_key: str, channel: str):
    key = _key(type_key, channel, request.form.get("locale"))
    order_id = request.form.get("order_id", type=int)
    return render_template("templates/_preview.html", key=key, preview=_preview(key, _submitted(key), order_id),
                           channel=get_channel(key.channel), direction=defaults.direction(key.locale))


@bp.post("/<type_key>/<channel>")
@require(EDIT_TEMPLATES)
def save(type_key: str, channel: str):
    key = _key(type_key, channel, request.form.get("locale"))
    fields = _submitted(key)
    try:
        row = store_templates.save(current_user.store_id, key, fields, current_user.id, sms_segments=sms_segments,
                                   max_segments=max_segments())
    except TemplateInvalid as invalid:
        db.session.rollback()
        return _editor(key, fields, invalid.problems, 400)
    flash(f"Saved version {row.version} of {catalog.get(key.message_type).name} · {get_channel(key.channel).label}"
          f" · {locale_name(key.locale)}. The next message uses it.", "success")
    return redirect(url_for("templates.edit", type_key=type_key, channel=channel, locale=key.locale))


@bp.post("/branding")
@require(EDIT_TEMPLATES)
def save_branding():
    store = current_user.store
    try:
        set_branding(store, request.form.get("accent", ""), request.form.get("logo_url", ""),
                     request.form.get("address", ""), current_user.id)
    except BrandingError as problem:
        db.session.rollback()
        flash(f"Branding not saved: {problem}", "error")
        return redirect(url_for("templates.index"))
    flash("Branding saved: every email from now on uses it.", "success")
    return redirect(url_for("templates.index"))


@bp.post("/<type_key>/<channel>/test")
@require(EDIT_TEMPLATES)
def send_test(type_key: str, channel: str):
    """The draft on the page, rendered with sample data, sent to the signed-in person's own email
    through the store's email provider. Nothing is saved; the draft stays on the page."""
    key = _key(type_key, channel, request.form.get("locale"))
    fields = _submitted(key)
    found = _preview(key, fields, request.form.get("order_id", type=int))
    if found["problems"] or found.get("error") or key.channel != "email":
        why = "only email templates can be sent to you as a test" if key.channel != "email" else \
            "fix the problems shown first"
        flash(f"Test not sent: {why}.", "error")
        return _editor(key, fields, found["problems"], 400)
    app_context = current_app._get_current_object().app_context
    outcome = send_rendered_test(current_user.store_id, "email", current_user.email, found["rendered"].subject,
                                 found["rendered"].body, current_user.id,
                                 f"{key.message_type} · email · {key.locale}", context=app_context,
                                 public_base_url=runtime_settings().public_base_url)
    flash(f"Test to {current_user.email}: {outcome.message}", "success" if outcome.ok else "error")
    return _editor(key, fields)


@bp.post("/<type_key>/<channel>/reset")
@require(EDIT_TEMPLATES)
def reset(type_key: str, channel: str):
    key = _key(type_key, channel, request.form.get("locale"))
    if store_templates.reset(current_user.store_id, key, current_user.id):
        flash(f"Back to the default template in {locale_name(key.locale)}.", "success")
    return redirect(url_for("templates.edit", type_key=type_key, channel=channel, locale=key.locale))


@bp.post("/versions/<int:version_id>/restore")
@require(EDIT_TEMPLATES)
def restore(version_id: int):
    try:
        row = store_templates.restore(current_user.store_id, version_id, current_user.id, sms_segments=sms_segments,
                                      max_segments=max_segments())
    except LookupError:
        abort(404)
    except TemplateInvalid as invalid:
        db.session.rollback()
        flash(f"That version cannot be restored: {invalid.problems[0].message}", "error")
        return redirect(url_for("templates.index"))
    flash(f"Restored as version {row.version}. The next message uses it.", "success")
    return redirect(url_for("templates.edit", type_key=row.message_type, channel=row.channel, locale=row.locale))


@bp.app_template_filter("layer_note")
def layer_note(resolved: ResolvedTemplate) -> str:
    return resolved.describe() if resolved.layer == STORE or resolved.fell_back else "Default template"
