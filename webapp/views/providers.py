"""Settings → Providers: a store's provider accounts per channel (owner only).

One card per channel of the channel registry lists its providers in failover order with their
recent health; adding, editing, switching off, reordering, sending limits and removing answer the
channel's card (HTMX) or redirect back to the page, and a test message goes through exactly one
provider. Secrets go in and come back only as their last four characters.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.accounts.permissions import MANAGE_SETTINGS
from webapp.channels.accounts import (
    ProviderNotFound,
    ProviderSettingsError,
    configure_provider,
    describe,
    get_provider,
    list_providers,
    move_provider,
    provider_label,
    remove_provider,
    set_enabled,
    set_rate_limits,
)
from webapp.channels.circuit import breaker_states
from webapp.channels.models import ProviderConfig
from webapp.channels.providers.base import ProviderSpec
from webapp.channels.providers.registry import DEFAULT_PROVIDER, providers, specs_for
from webapp.channels.providers.sandbox import SandboxProvider
from webapp.channels.rate_limit import PERIODS, Limit, limit_problem, parse_limits
from webapp.channels.rate_limit import describe as describe_limits
from webapp.channels.registry import Channel, channels, get_channel
from webapp.channels.test_sends import TestAddress, TestAddressError, TestOutcome, address_prompt, send_test_message
from webapp.crypto import SecretUnreadable
from webapp.dispatch.provider_health import HEALTH_DAYS, ProviderHealth, provider_health
from webapp.extensions import db
from webapp.timeutil import utcnow
from webapp.views import is_htmx, require, runtime_settings

bp = Blueprint("providers", __name__, url_prefix="/settings/providers")
log = logging.getLogger(__name__)

PAGE = "providers/index.html"
SECTION = "providers/_channel.html"
FIELDS = "providers/_fields.html"
TEST_FORM = "providers/_test_form.html"
VARY = {"Vary": "HX-Request", "Cache-Control": "no-store"}


@dataclass
class FormState:
    """The add or edit form as the user left it: non-secret values only, never a secret."""

    mode: str  # "add" or "edit"
    spec: ProviderSpec | None = None
    config_id: int | None = None
    values: dict[str, str] = field(default_factory=dict)
    base_url: str = ""
    hints: dict[str, str] = field(default_factory=dict)  # secret field → "••••abcd" (edit)
    error: str | None = None
    error_fields: tuple[str, ...] = ()
    prompt: str | None = None  # an instruction that is not an error


@dataclass
class TestState:
    __test__ = False

    address: str = ""
    error: str | None = None
    outcome: TestOutcome | None = None


@dataclass
class LimitsState:
    """The sending-limits form: one box per window, as typed (or as saved)."""

    values: dict[str, str] = field(default_factory=dict)  # "second" | "minute" | "day" → text
    error: str | None = None
    error_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Breaker:
    paused: bool
    text: str


@dataclass
class ProviderRow:
    row: ProviderConfig
    number: int
    label: str
    settings: list[tuple[str, str]]
    secrets: list[tuple[str, str]]
    health: ProviderHealth
    breaker: Breaker | None
    prompt: TestAddress
    test: TestState
    is_first: bool
    is_last: bool
    limits: list[Limit] = field(default_factory=list)
    limits_form: LimitsState = field(default_factory=LimitsState)


@dataclass
class Section:
    channel: Channel
    rows: list[ProviderRow]
    specs: list[ProviderSpec]
    form: FormState | None = None
    notice: str | None = None
    focus: str | None = None  # id of the control to focus after an in-place update

    @property
    def fallback(self) -> ProviderSpec:
        return fallback_spec(self.channel.code)

    @property
    def any_enabled(self) -> bool:
        return any(p.row.enabled for p in self.rows)


# --- Building what the templates show --------------------------------------------------------------


def fallback_spec(channel: str) -> ProviderSpec:
    """What provider_chain uses when a channel has no enabled provider: its built-in default (the
    inbox for in-app) or the sandbox."""
    default = DEFAULT_PROVIDER.get(channel)
    return default.spec if default is not None else SandboxProvider.spec


def _breakers(store_id: int) -> dict:
    """Circuit-breaker states, or none when Redis is unavailable: the page must show providers even then."""
    try:
        return breaker_states(store_id)
    except Exception as error:  # noqa: BLE001 - an optional panel; the reason is logged
        log.warning("circuit breaker states unavailable: %s", error)
        return {}


def _breaker(state, now: datetime) -> Breaker | None:
    if state is None:
        return None
    failures = getattr(state, "consecutive_failures", 0) or 0
    until = getattr(state, "open_until", None)
    plural = "s" if failures != 1 else ""
    if until is not None and until > now:
        return Breaker(True, f"Paused after {failures} failure{plural} — retried at {until:%H:%M} UTC")
    if failures:
        return Breaker(False, f"{failures} failure{plural} in a row")
    return None


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return ""
    seconds = max(0, int(((now or utcnow()) - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''} ago"


def _provider_rows(store_id: int, channel: str, health: dict, breakers: dict,
                   tests: dict[int, TestState], limit_forms: dict[int, LimitsState] | None = None) -> list[ProviderRow]:
    rows = list_providers(store_id, channel)
    now = utcnow()
    result = []
    for index, row in enumerate(rows):
        cls = providers().get(row.provider)
        spec_fields = {f.name: f.label for f in cls.spec.fields} if cls else {}
        try:
            info = describe(row)
        except SecretUnreadable:  # a key missing from ENCRYPTION_KEY: show the row, say so
            info = {"settings": row.settings or {}, "secrets": {"(credentials)": "cannot be decrypted"}}
        limits, _ = parse_limits(row.rate_limits)
        result.append(ProviderRow(
            row=row, number=index + 1, label=provider_label(row.provider),
            settings=[(spec_fields.get(k, k), str(v)) for k, v in info["settings"].items()],
            secrets=[(spec_fields.get(k, k), v) for k, v in info["secrets"].items()],
            health=health.get((channel, row.provider), ProviderHealth()),
            breaker=_breaker(breakers.get((channel, row.provider)), now),
            prompt=address_prompt(channel), test=tests.get(row.id) or TestState(),
            is_first=index == 0, is_last=index == len(rows) - 1, limits=limits,
            limits_form=(limit_forms or {}).get(row.id) or LimitsState({lim.per: str(lim.limit) for lim in limits})))
    return result


def _section(channel: Channel, form: FormState | None = None, notice: str | None = None,
             tests: dict[int, TestState] | None = None, focus: str | None = None,
             health: dict | None = None, breakers: dict | None = None,
             limit_forms: dict[int, LimitsState] | None = None) -> Section:
    store_id = current_user.store_id
    health = provider_health(store_id) if health is None else health
    breakers = _breakers(store_id) if breakers is None else breakers
    return Section(channel, _provider_rows(store_id, channel.code, health, breakers, tests or {}, limit_forms),
                   specs_for(channel.code), form, notice, focus)


def _respond(channel: Channel, status: int = 200, form: FormState | None = None, notice: str | None = None,
             tests: dict[int, TestState] | None = None, focus: str | None = None,
             limit_forms: dict[int, LimitsState] | None = None):
    """The channel's card for HTMX, else the whole page with that card in the same state."""
    if is_htmx():
        return render_template(SECTION, s=_section(channel, form, notice, tests, focus, limit_forms=limit_forms)), \
            status, VARY
    health, breakers = provider_health(current_user.store_id), _breakers(current_user.store_id)
    sections = [_section(c, form, notice, tests, health=health, breakers=breakers, limit_forms=limit_forms)
                if c.code == channel.code
                else _section(c, health=health, breakers=breakers) for c in channels()]
    return render_template(PAGE, sections=sections), status, VARY


def _done(channel: Channel, message: str, focus: str | None = None):
    """After a change: the updated card (HTMX), or back to the page with the message (no JS)."""
    if is_htmx():
        return _respond(channel, notice=message, focus=focus)
    flash(message, "success")
    return redirect(url_for("providers.index", _anchor=f"channel-{channel.code}"), 303)


def _channel_or_404(code: str) -> Channel:
    channel = get_channel(code)
    if channel is None:
        abort(404)
    return channel


def _row_or_404(config_id: int) -> ProviderConfig:
    try:
        return get_provider(current_user.store_id, config_id)
    except ProviderNotFound:
        abort(404)


def _spec_for(channel: Channel, code: str) -> ProviderSpec | None:
    return next((spec for spec in specs_for(channel.code) if spec.code == code), None)


def _submitted(spec: ProviderSpec) -> tuple[dict[str, str], str]:
    """The provider's fields as posted (only those present, stripped) and the base URL."""
    values = {f.name: request.form[f"field-{f.name}"].strip() for f in spec.fields
              if f"field-{f.name}" in request.form}
    return values, request.form.get("base_url", "").strip()


def _check_scheme(base_url: str) -> None:
    """In production the page takes only https base URLs: a test server over plain http is for
    development (the CLI can still set one)."""
    if base_url.lower().startswith("http://") and current_app.config.get("APP_ENV") == "production":
        raise ProviderSettingsError("The API base URL must start with https://.", ("base_url",))


def _shown_values(spec: ProviderSpec, values: dict[str, str]) -> dict[str, str]:
    secret = {f.name for f in spec.fields if f.secret}
    return {k: v for k, v in values.items() if k not in secret}


def _edit_state(row: ProviderConfig, spec: ProviderSpec | None, **overrides) -> FormState:
    info = describe(row)
    state = FormState("edit", spec, row.id, values={k: str(v) for k, v in info["settings"].items()},
                      base_url=row.base_url or "", hints=info["secrets"])
    for name, value in overrides.items():
        setattr(state, name, value)
    return state


# --- Pages -------------------------------------------------------------------------------------------


@bp.get("")
@require(MANAGE_SETTINGS)
def index():
    health, breakers = provider_health(current_user.store_id), _breakers(current_user.store_id)
    sections = [_section(c, health=health, breakers=breakers) for c in channels()]
    return render_template(PAGE, sections=sections), 200, VARY


@bp.get("/channels/<channel>")
@require(MANAGE_SETTINGS)
def section(channel: str):
    """One channel's card, as it is (the add form's Cancel)."""
    found = _channel_or_404(channel)
    if not is_htmx():
        return redirect(url_for("providers.index", _anchor=f"channel-{found.code}"))
    return _respond(found)


@bp.get("/channels/<channel>/add")
@require(MANAGE_SETTINGS)
def add_form(channel: str):
    found = _channel_or_404(channel)
    spec = _spec_for(found, request.args.get("provider", ""))
    return _respond(found, form=FormState("add", spec))


@bp.get("/channels/<channel>/fields")
@require(MANAGE_SETTINGS)
def fields(channel: str):
    """The chosen provider's fields, swapped into the add form when the provider select changes."""
    found = _channel_or_404(channel)
    spec = _spec_for(found, request.args.get("provider", ""))
    return render_template(FIELDS, ch=found, form=FormState("add", spec)), 200, VARY


@bp.post("/channels/<channel>")
@require(MANAGE_SETTINGS)
def add(channel: str):
    found = _channel_or_404(channel)
    code = request.form.get("provider", "").strip()
    spec = _spec_for(found, code)
    if spec is None:
        return _respond(found, 422, form=FormState("add", error=f"Choose one of the providers offered for "
                                                               f"{found.label}.", error_fields=("provider",)))
    values, base_url = _submitted(spec)
    if request.form.get("fields_for") != spec.code:
        # The provider was chosen without its fields on screen (no JavaScript): show them first.
        return _respond(found, 422, form=FormState("add", spec, base_url=base_url,
                                                   prompt=f"Fill in {spec.label}'s settings, then add it."))
    form = FormState("add", spec, values=_shown_values(spec, values), base_url=base_url)
    if any(row.provider == spec.code for row in list_providers(current_user.store_id, found.code)):
        form.error = f"{spec.label} is already set up for {found.label}; use its Edit button to change it."
        form.error_fields = ("provider",)
        return _respond(found, 422, form=form)
    try:
        _check_scheme(base_url)
        row = configure_provider(current_user.store_id, found.code, spec.code, values, base_url or None,
                                 user_id=current_user.id, production=runtime_settings().production)
    except ProviderSettingsError as error:
        db.session.rollback()
        form.error, form.error_fields = str(error), error.fields
        return _respond(found, 422, form=form)
    return _done(found, f"{spec.label} added to {found.label} as provider {row.position + 1}.")


@bp.get("/<int:config_id>/edit")
@require(MANAGE_SETTINGS)
def edit_form(config_id: int):
    row = _row_or_404(config_id)
    cls = providers().get(row.provider)
    return _respond(_channel_or_404(row.channel), form=_edit_state(row, cls.spec if cls else None))


@bp.post("/<int:config_id>")
@require(MANAGE_SETTINGS)
def update(config_id: int):
    row = _row_or_404(config_id)
    channel = _channel_or_404(row.channel)
    cls = providers().get(row.provider)
    if cls is None:  # its plug-in was uninstalled: it can only be removed
        return _respond(channel, 422, form=_edit_state(row, None, error=f"The provider “{row.provider}” is not "
                                                                         "installed; remove it or reinstall it."))
    values, base_url = _submitted(cls.spec)
    label = cls.spec.label
    try:
        _check_scheme(base_url)
        configure_provider(current_user.store_id, row.channel, row.provider, values, base_url or None,
                           user_id=current_user.id, enabled=row.enabled,
                           production=runtime_settings().production)
    except ProviderSettingsError as error:
        db.session.rollback()
        row = _row_or_404(config_id)
        state = _edit_state(row, cls.spec, values=_shown_values(cls.spec, values), base_url=base_url,
                            error=str(error), error_fields=error.fields)
        return _respond(channel, 422, form=state)
    return _done(channel, f"{label} saved.")


@bp.post("/<int:config_id>/enabled")
@require(MANAGE_SETTINGS)
def toggle(config_id: int):
    row = _row_or_404(config_id)
    value = request.form.get("enabled")
    if value not in ("0", "1"):
        abort(400, description="“enabled” must be 1 (switch on) or 0 (switch off).")
    row = set_enabled(current_user.store_id, row.id, value == "1", current_user.id)
    label, channel = provider_label(row.provider), _channel_or_404(row.channel)
    message = (f"{label} switched on: {channel.label} messages go through it again." if row.enabled else
               f"{label} switched off: {channel.label} messages skip it until you switch it on.")
    return _done(channel, message, focus=f"toggle-{row.id}")


@bp.post("/<int:config_id>/move")
@require(MANAGE_SETTINGS)
def move(config_id: int):
    row = _row_or_404(config_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400, description="“direction” must be up or down.")
    row = move_provider(current_user.store_id, row.id, -1 if direction == "up" else 1, current_user.id)
    channel = _channel_or_404(row.channel)
    return _done(channel, f"{provider_label(row.provider)} is now provider {row.position + 1} for {channel.label}.",
                 focus=f"move-{direction}-{row.id}")


@bp.post("/<int:config_id>/remove")
@require(MANAGE_SETTINGS)
def remove(config_id: int):
    row = _row_or_404(config_id)
    channel = _channel_or_404(row.channel)
    label = remove_provider(current_user.store_id, row.id, current_user.id)
    remaining = list_providers(current_user.store_id, channel.code)
    fallback = fallback_spec(channel.code)
    tail = "" if any(r.enabled for r in remaining) else (
        " The sandbox now records this channel's messages." if fallback.code == "sandbox" else
        f" Messages now go through the default, {fallback.label}.")
    return _done(channel, f"{label} removed from {channel.label}; its credentials were deleted.{tail}")


def _typed_limits(typed: dict[str, str]) -> tuple[list[dict], list[str], tuple[str, ...]]:
    """The limits form's boxes as rate_limits entries (an empty box is no limit for that window),
    with a problem per box that holds no usable number."""
    entries, problems, bad = [], [], []
    for per, text in typed.items():
        if not text:
            continue
        value = int(text) if text.isascii() and text.isdigit() else text
        problem = limit_problem(value)
        if problem:
            problems.append(f"Up to … per {per}: {problem}.")
            bad.append(per)
        else:
            entries.append({"per": per, "limit": value})
    return entries, problems, tuple(bad)


@bp.post("/<int:config_id>/rate-limits")
@require(MANAGE_SETTINGS)
def rate_limits(config_id: int):
    """Set or clear the account's sending limits: marketing through it waits within them."""
    row = _row_or_404(config_id)
    channel = _channel_or_404(row.channel)
    typed = {per: request.form.get(f"limit-{per}", "").strip()[:20] for per in PERIODS}
    entries, problems, bad = _typed_limits(typed)
    if not problems:
        try:
            row = set_rate_limits(current_user.store_id, row.id, entries, current_user.id)
        except ProviderSettingsError as error:
            db.session.rollback()
            problems, bad = [str(error)], tuple(PERIODS)
    if problems:
        state = LimitsState(typed, " ".join(problems), bad)
        return _respond(channel, 422, limit_forms={config_id: state}, focus=f"limit-{config_id}-{bad[0]}")
    limits, _ = parse_limits(row.rate_limits)
    label = provider_label(row.provider)
    message = (f"{label}: marketing now goes out at most {describe_limits(limits)}." if limits else
               f"{label}: no sending limits; marketing goes out as fast as {label} takes it.")
    return _done(channel, message, focus=f"limits-save-{row.id}")


@bp.post("/<int:config_id>/test")
@require(MANAGE_SETTINGS)
def test_message(config_id: int):
    row = _row_or_404(config_id)
    channel = _channel_or_404(row.channel)
    address = request.form.get("address", "")[:300]
    state = TestState(address=address.strip())
    status = 200
    try:
        state.outcome = send_test_message(current_user.store_id, row.id, address, current_user.id,
                                          store_name=current_user.store.name,
                                          context=current_app._get_current_object().app_context,
                                          public_base_url=runtime_settings().public_base_url)
    except TestAddressError as error:
        db.session.rollback()
        state.error, status = str(error), 422
    if not is_htmx():
        return _respond(channel, status, tests={row.id: state})
    rows = _provider_rows(current_user.store_id, channel.code, {}, {}, {row.id: state})
    shown = next(p for p in rows if p.row.id == row.id)
    return render_template(TEST_FORM, p=shown), status, VARY


@bp.context_processor
def _template_helpers() -> dict:
    return {"ago": ago, "now": utcnow(), "health_days": HEALTH_DAYS, "limit_periods": tuple(PERIODS),
            "describe_limits": describe_limits}
