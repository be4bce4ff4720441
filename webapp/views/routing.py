"""Settings → Routing: which channels carry each message type that is not an order status, all of
them or the first reachable, over the platform defaults; and the store's quiet hours and marketing
frequency cap. Each type saves on its own; up/down re-render the type's form without saving."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from webapp.accounts.permissions import MANAGE_SETTINGS
from webapp.notifications import route_store
from webapp.notifications.routing import FIRST, MODES, Route, default_route, is_rule_routed, routable_types, route_for
from webapp.notifications.send_limits import limits_of, parse_limits
from webapp.templating import catalog
from webapp.views import is_htmx, render_page, require
from webapp.views.read.labels import channel_label

bp = Blueprint("routing", __name__, url_prefix="/settings/routing")

PAGE = "routing/index.html"
ROUTE_FORM = "routing/_route_form.html"
LIMITS_FORM = "routing/_limits_form.html"
GROUPS = (("payments", "Payments and shipping"), ("account", "Account and privacy"), ("marketing", "Marketing"))
UNAVAILABLE = "Nothing was saved: the database is not answering just now. Please try again in a moment."


@dataclass(frozen=True)
class RouteForm:
    """One message type's form as shown: its route (saved, or as the user is editing it), every
    channel the type can use in the order shown, and what to say about it."""

    type: catalog.MessageType
    route: Route  # as shown
    saved: Route
    default: Route
    order: tuple[str, ...]  # every channel the type can use: the route's first, then the others
    error: str | None = None
    notice: str | None = None

    @property
    def customised(self) -> bool:
        return self.saved != self.default

    @property
    def unsaved(self) -> bool:
        return self.route != self.saved

    @property
    def anchor(self) -> str:
        return "route-" + self.type.key.replace(".", "-").replace("_", "-")

    def explain(self) -> str:
        names = [channel_label(c) for c in self.route.channels]
        if not names:
            return "No channel chosen."
        if self.route.mode == FIRST and len(names) > 1:
            consent = " and they opted in to marketing on it" if self.type.priority == catalog.MARKETING else ""
            return (f"Tries {', then '.join(names)}, and sends on the first that can reach the customer: "
                    f"they have that address (an app install for push), it is not suppressed{consent}. "
                    "When none can, every channel records why.")
        more = " (the order matters only for first reachable)" if len(names) > 1 else ""
        return f"Sent by {' and '.join(names)}, each where the customer has that address and it is not " \
               f"suppressed{more}."


def describe(route: Route) -> str:
    """As Route.describe, with the channels' names: "first reachable of Push → SMS → Email"."""
    names = [channel_label(c) for c in route.channels]
    if not names:
        return "no channel"
    return f"first reachable of {' → '.join(names)}" if route.mode == FIRST else f"all of {' + '.join(names)}"


def _group(message_type: catalog.MessageType) -> str:
    if message_type.priority == catalog.MARKETING:
        return "marketing"
    return "account" if message_type.key.startswith(("account.", "gdpr.")) else "payments"


def _form(message_type: catalog.MessageType, saved: Route, shown: Route | None = None,
          order: tuple[str, ...] | None = None, **extra) -> RouteForm:
    route = shown or saved
    order = order or tuple(dict.fromkeys((*route.channels, *message_type.channels)))
    return RouteForm(message_type, route, saved, default_route(message_type.key), order, **extra)


def _forms() -> dict[str, list[RouteForm]]:
    mine = route_store.overrides(current_user.store_id)
    grouped: dict[str, list[RouteForm]] = {code: [] for code, _ in GROUPS}
    for message_type in routable_types():
        grouped[_group(message_type)].append(_form(message_type, route_for(message_type.key, mine)))
    return grouped


def _page_context(**extra) -> dict:
    return {"groups": GROUPS, "forms": _forms(), "modes": MODES, "describe": describe,
            "limits": limits_of(current_user.store), "store": current_user.store, **extra}


def _routed_type_or_404(type_key: str) -> catalog.MessageType:
    message_type = catalog.get(type_key)
    if message_type is None or is_rule_routed(type_key):
        abort(404)
    return message_type


def _submitted(message_type: catalog.MessageType) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(mode, chosen channels in order, every channel in the order shown) from the posted form. Each
    row carries its position, so the order survives a post without the up/down buttons' help."""
    def position(channel: str) -> int:
        value = request.form.get(f"position:{channel}", "")
        return int(value) if value.isdigit() else len(message_type.channels) + 1

    order = tuple(sorted(message_type.channels, key=lambda c: (position(c), message_type.channels.index(c))))
    chosen = tuple(c for c in order if request.form.get(f"use:{c}"))
    return request.form.get("mode", ""), chosen, order


def _moved(order: tuple[str, ...], move: str) -> tuple[str, ...]:
    channel, _, direction = move.partition(":")
    if channel not in order:
        return order
    items = list(order)
    i = items.index(channel)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(items):
        items[i], items[j] = items[j], items[i]
    return tuple(items)


def _answer_route(form: RouteForm, status: int = 200, flash_message: str | None = None):
    """The type's form alone to HTMX; otherwise the page, or back to it after a change."""
    if flash_message and not is_htmx():
        flash(flash_message, "success")
        return redirect(url_for("routing.index", _anchor=form.anchor))
    if is_htmx():
        return render_page(PAGE, ROUTE_FORM, status, f=form, modes=MODES, describe=describe)
    context = _page_context()
    group = context["forms"][_group(form.type)]
    context["forms"][_group(form.type)] = [form if f.type.key == form.type.key else f for f in group]
    return render_page(PAGE, ROUTE_FORM, status, **context)


@bp.get("")
@require(MANAGE_SETTINGS)
def index():
    return render_page(PAGE, PAGE, **_page_context())


@bp.post("/<type_key>")
@require(MANAGE_SETTINGS)
def save(type_key: str):
    message_type = _routed_type_or_404(type_key)
    saved = route_store.store_route(current_user.store_id, type_key)
    mode, chosen, order = _submitted(message_type)
    shown = Route(mode, chosen)
    try:
        route = route_store.save_route(current_user.store, current_user, type_key, mode, chosen)
    except ValueError as problem:
        return _answer_route(_form(message_type, saved, shown, order, error=f"Not saved: {problem}."), 400)
    except SQLAlchemyError:
        return _answer_route(_form(message_type, saved, shown, order, error=UNAVAILABLE), 503)
    if route is None:
        return _answer_route(_form(message_type, saved, order=order, notice="No changes to save."))
    message = f"{message_type.name}: saved, {describe(route)}."
    return _answer_route(_form(message_type, route, order=order, notice=message), flash_message=message)


@bp.post("/<type_key>/preview")
@require(MANAGE_SETTINGS)
def preview(type_key: str):
    """Up and down: the form again with the channel moved, marked unsaved until Save."""
    message_type = _routed_type_or_404(type_key)
    saved = route_store.store_route(current_user.store_id, type_key)
    mode, _, order = _submitted(message_type)
    order = _moved(order, request.form.get("move", ""))
    chosen = tuple(c for c in order if request.form.get(f"use:{c}"))
    return _answer_route(_form(message_type, saved, Route(mode if mode in MODES else saved.mode, chosen), order))


@bp.post("/<type_key>/reset")
@require(MANAGE_SETTINGS)
def reset(type_key: str):
    message_type = _routed_type_or_404(type_key)
    try:
        changed = route_store.reset_route(current_user.store, current_user, type_key)
    except SQLAlchemyError:
        saved = route_store.store_route(current_user.store_id, type_key)
        return _answer_route(_form(message_type, saved, error=UNAVAILABLE), 503)
    default = default_route(type_key)
    message = f"{message_type.name}: back to the default, {describe(default)}." if changed else \
        f"{message_type.name} already uses the default."
    return _answer_route(_form(message_type, default, notice=message), flash_message=message if changed else None)


@bp.post("/limits")
@require(MANAGE_SETTINGS)
def save_limits():
    form = {name: request.form.get(name, "") for name in ("quiet_start", "quiet_end", "cap_day", "cap_week")}
    try:
        limits = parse_limits(form["quiet_start"], form["quiet_end"], form["cap_day"], form["cap_week"])
        changed = route_store.save_send_limits(current_user.store, current_user, limits)
    except ValueError as problem:
        return _answer_limits(form, 400, error=f"Not saved: {problem}")
    except SQLAlchemyError:
        return _answer_limits(form, 503, error=UNAVAILABLE)
    message = "Quiet hours and frequency cap saved." if changed else "No changes to save."
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("routing.index", _anchor="limits"))
    return _answer_limits(None, notice=message)


def _answer_limits(form: dict | None, status: int = 200, **extra):
    """The limits form: as typed when it was refused, else as stored."""
    return render_page(PAGE, LIMITS_FORM, status, **_page_context(limits_form=form, **extra))
