"""Settings › Integrations: webhook URLs and signing secrets per platform, API keys, the status mapping.

Secrets and keys go in and never come back out: pages show a secret's last four characters and a key's
prefix only, and a new API key's full text exactly once, in the response that created it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp import vocabulary
from webapp.accounts.permissions import MANAGE_SETTINGS
from webapp.channels import egress
from webapp.events.api_keys import ApiKeyError, NewApiKey, create_api_key, list_api_keys, revoke_api_key
from webapp.events.integrations import WEBHOOK_SOURCES, IntegrationError, get_integration, set_secret
from webapp.events.models import IntegrationSecret
from webapp.events.status_mapping import IGNORED, MAPPINGS
from webapp.extensions import db
from webapp.views import is_htmx, require, runtime_settings

bp = Blueprint("integrations", __name__, url_prefix="/settings/integrations")

_STORE_HASH = re.compile(r"[A-Za-z0-9]{1,64}")
NO_STORE = {"Cache-Control": "no-store"}  # pages that may carry a just-created key must not be cached


@dataclass(frozen=True)
class SourceCard:
    code: str
    label: str
    where: str  # where the platform's admin shows the secret
    webhook_url: str
    integration: IntegrationSecret | None
    values: dict  # non-secret form values to show again (BigCommerce settings)
    error: str | None = None
    saved: bool = False


def _card(source: str, error: str | None = None, values: dict | None = None, saved: bool = False) -> SourceCard:
    integration = get_integration(current_user.store_id, source)
    if values is None:
        values = dict((integration.settings or {}) if integration else {})
    # The webhook endpoints live in another blueprint; the path is part of the contract with each platform.
    url = request.url_root + f"webhooks/{source}/{current_user.store.slug}"
    return SourceCard(source, vocabulary.source_label(source), WEBHOOK_SOURCES[source], url, integration, values,
                      error, saved)


def _page(status: int = 200, cards: dict[str, SourceCard] | None = None, new_key: NewApiKey | None = None,
          key_error: str | None = None, key_name: str = ""):
    cards = cards or {}
    sources = [cards.get(code) or _card(code) for code in WEBHOOK_SOURCES]
    return render_template("integrations/index.html", sources=sources, keys=list_api_keys(current_user.store_id),
                           new_key=new_key, key_error=key_error, key_name=key_name), status, NO_STORE


@bp.get("")
@require(MANAGE_SETTINGS)
def index():
    return _page()


def _bigcommerce_fields(form) -> tuple[dict, str | None]:
    """The non-secret BigCommerce settings as given, and what is wrong with them (or None)."""
    store_hash = form.get("store_hash", "").strip()
    api_base_url = form.get("api_base_url", "").strip()
    settings = {key: value for key, value in (("store_hash", store_hash), ("api_base_url", api_base_url)) if value}
    if store_hash and not _STORE_HASH.fullmatch(store_hash):
        return settings, "The store hash is the letters and digits after /stores/ in your BigCommerce API path."
    if api_base_url:
        parts = urlsplit(api_base_url)
        if parts.scheme != "https" or not parts.netloc or len(api_base_url) > 500:
            return settings, "The API base URL must be an https:// address, e.g. https://api.bigcommerce.com."
    if form.get("api_token", "").strip() and not store_hash:
        return settings, "The API token is used together with the store hash; fill in the store hash too."
    return settings, None


@bp.post("/<source>/secret")
@require(MANAGE_SETTINGS)
def save_secret(source: str):
    if source not in WEBHOOK_SOURCES:
        abort(404)
    settings, api_token, error = None, None, None
    if source == "bigcommerce":
        settings, error = _bigcommerce_fields(request.form)
        api_token = request.form.get("api_token", "").strip() or None
    try:
        if error:
            raise IntegrationError(error)
        set_secret(current_user.store_id, source, request.form.get("secret", ""), current_user.id,
                   settings=settings, api_token=api_token,
                   check_destination=egress.check_destination if runtime_settings().production else None)
    except IntegrationError as problem:
        db.session.rollback()
        card = _card(source, error=str(problem), values=settings)
        if is_htmx():
            return render_template("integrations/_source.html", source=card), 400
        return _page(400, cards={source: card})
    if is_htmx():
        return render_template("integrations/_source.html", source=_card(source, saved=True)), 200
    flash(f"{vocabulary.source_label(source)} secret saved. Webhooks signed with it are accepted from now on.",
          "success")
    return redirect(url_for("integrations.index", _anchor=f"source-{source}"), 303)


def _keys_response(status: int, new_key: NewApiKey | None = None, key_error: str | None = None, key_name: str = ""):
    if is_htmx():
        return render_template("integrations/_api_keys.html", keys=list_api_keys(current_user.store_id),
                               new_key=new_key, key_error=key_error, key_name=key_name), status, NO_STORE
    return _page(status, new_key=new_key, key_error=key_error, key_name=key_name)


@bp.post("/api-keys")
@require(MANAGE_SETTINGS)
def create_key():
    name = request.form.get("name", "")
    try:
        new_key = create_api_key(current_user.store_id, name, current_user.id)
    except ApiKeyError as error:
        db.session.rollback()
        return _keys_response(400, key_error=str(error), key_name=name[:100])
    # Answered directly, not redirected: the key exists only in this response.
    return _keys_response(201, new_key=new_key)


@bp.post("/api-keys/<int:key_id>/revoke")
@require(MANAGE_SETTINGS)
def revoke_key(key_id: int):
    try:
        key = revoke_api_key(current_user.store_id, key_id, current_user.id)
    except ApiKeyError:
        abort(404)
    if is_htmx():
        return render_template("integrations/_api_key_row.html", key=key)
    flash(f"API key “{key.name}” revoked; requests using it are refused from now on.", "success")
    return redirect(url_for("integrations.index", _anchor="api-keys"), 303)


def _canonical_label(kind: str, status: str) -> str:
    label = vocabulary.status_label(kind, status)
    return label if label != status else status.replace("_", " ").capitalize()


@bp.get("/status-mapping")
@require(MANAGE_SETTINGS)
def status_mapping():
    tables = [{"code": code, "label": vocabulary.source_label(code), "ignored": IGNORED.get(code, []),
               "rows": [(native, kind.capitalize(), _canonical_label(kind, status)) for native, kind, status in rows]}
              for code, rows in MAPPINGS.items()]
    return render_template("integrations/status_mapping.html", tables=tables)
