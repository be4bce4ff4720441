"""Templates through the API (store API key), so merchants can keep their wording in their own
repository: the catalog, the resolved template of a type × channel × locale and its layer, saving
(422 with the line and column of what is wrong), deleting (back to the default), and previewing a
draft with sample data or a real order, saving nothing."""
from __future__ import annotations

from flask import g, jsonify, request

from webapp import jsonbody
from webapp.extensions import db
from webapp.notifications.plan_requests import plan_request
from webapp.notifications.planner import template_context
from webapp.orders.models import Order
from webapp.templating import catalog, defaults, store_templates
from webapp.templating.render import TemplateRenderError
from webapp.templating.resolve import resolve_template
from webapp.templating.store_templates import TemplateInvalid, TemplateKey
from webapp.templating.validate import validate
from webapp.views.api import api_key_required, bp, error
from webapp.views.read.template_preview import preview_message
from webapp.views.templates import max_segments, sms_segments


def _catalog_json(message_type: catalog.MessageType) -> dict:
    return {"type": message_type.key, "name": message_type.name, "priority": message_type.priority,
            "channels": {ch: list(catalog.CHANNEL_FIELDS[ch]) for ch in message_type.channels},
            "variables": [{"name": v.name, "description": v.description, "sample": v.sample}
                          for v in message_type.variables]}


@bp.get("/templates")
@api_key_required
def list_templates():
    mine = store_templates.overrides_for(g.api_store.id)
    return jsonify({"locales": list(defaults.locales()),
                    "templates": [_catalog_json(t) | {"store_templates": sorted(
                        f"{c}/{loc}" for (k, c, loc) in mine if k == t.key)} for t in catalog.MESSAGE_TYPES.values()]})


def _key_or_404(type_key: str, channel: str, locale: str):
    try:
        return TemplateKey.parse(type_key, channel, locale), None
    except LookupError:
        return None, error(404, f"no template {type_key}/{channel}/{locale}: see GET /api/v1/templates")


def _resolved_json(key: TemplateKey) -> dict:
    store = g.api_store
    resolved = resolve_template(key.message_type, key.channel, key.locale, store.default_locale,
                                store_templates.overrides_for(store.id))
    row = store_templates.current(store.id, key)
    return {"type": key.message_type, "channel": key.channel, "locale": key.locale, "layer": resolved.layer,
            "resolved_locale": resolved.locale, "description": resolved.describe(),
            "version": row.version if row else None, **dict(resolved.fields)}


@bp.get("/templates/<type_key>/<channel>/<locale>")
@api_key_required
def get_template(type_key: str, channel: str, locale: str):
    key, failed = _key_or_404(type_key, channel, locale)
    return failed or jsonify(_resolved_json(key))


def _fields_from_body():
    try:
        payload = jsonbody.loads(request.get_data())
    except (ValueError, UnicodeDecodeError) as exc:
        return None, error(400, f"invalid JSON: {exc}")
    if not isinstance(payload, dict) or not all(isinstance(v, str) for k, v in payload.items()
                                                if k not in ("type", "channel", "locale", "order_id")):
        return None, error(400, "send a JSON object of template fields, each a string")
    return payload, None


@bp.put("/templates/<type_key>/<channel>/<locale>")
@api_key_required
def put_template(type_key: str, channel: str, locale: str):
    key, failed = _key_or_404(type_key, channel, locale)
    if failed:
        return failed
    fields, failed = _fields_from_body()
    if failed:
        return failed
    try:
        store_templates.save(g.api_store.id, key, fields, None, sms_segments=sms_segments,
                             max_segments=max_segments())
    except TemplateInvalid as invalid:
        db.session.rollback()
        first = invalid.problems[0]
        return jsonify({**first.as_dict(), "problems": [p.as_dict() for p in invalid.problems]}), 422
    return jsonify(_resolved_json(key)), 200


@bp.delete("/templates/<type_key>/<channel>/<locale>")
@api_key_required
def delete_template(type_key: str, channel: str, locale: str):
    key, failed = _key_or_404(type_key, channel, locale)
    if failed:
        return failed
    store_templates.reset(g.api_store.id, key, None)
    return jsonify(_resolved_json(key)), 200


@bp.post("/templates/preview")
@api_key_required
def preview_template():
    payload, failed = _fields_from_body()
    if failed:
        return failed
    key, failed = _key_or_404(str(payload.get("type", "")), str(payload.get("channel", "")),
                              str(payload.get("locale") or g.api_store.default_locale))
    if failed:
        return failed
    message_type = catalog.get(key.message_type)
    fields = {name: payload[name] for name in catalog.CHANNEL_FIELDS[key.channel] if payload.get(name)}
    problems = validate(message_type, key.channel, fields, sms_segments=sms_segments,
                        max_segments=max_segments(), locale=key.locale)
    if problems:
        return jsonify({**problems[0].as_dict(), "problems": [p.as_dict() for p in problems]}), 422
    context = None
    if payload.get("order_id") is not None:
        order = db.session.get(Order, payload["order_id"]) if isinstance(payload["order_id"], int) else None
        if order is None or order.store_id != g.api_store.id:
            return error(404, "no such order in this store")
        kind, _, status = key.message_type.partition(".")
        context = template_context(plan_request(g.api_store, order, order.customer, kind, status), key.locale)
    try:
        rendered = preview_message(g.api_store, message_type, key, fields, context)
    except TemplateRenderError as exc:
        return jsonify({"error": str(exc), "line": exc.line, "column": exc.column}), 422
    return jsonify({"subject": rendered.subject, "body": rendered.body, "preheader": rendered.preheader,
                    "text": rendered.text, "link": rendered.link})
