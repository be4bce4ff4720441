"""Promotions → Bundles: the store's bundles (products sold together at a discount per complete set)
with their use, a Disable / Enable button each, and the form that makes one.

The form has item rows named as the domain names its problems ("items[1].quantity"); rows left
blank are ignored, so a problem of the n-th filled row is renumbered to the row it came from on the
page. "Add a row" posts the form back with an `edit` command: an HTMX swap of the rows, or without
JavaScript the whole page. Owners and marketers; support gets a 403.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.accounts.permissions import EDIT_PROMOTIONS
from webapp.audit.models import record
from webapp.promotions.bundle_input import MAX_ITEMS
from webapp.promotions.models import BUNDLE, Promotion
from webapp.promotions.promotion_input import Problem
from webapp.promotions.promotion_store import (
    create_bundle,
    get_promotion,
    list_promotions,
    promotion_status,
    set_disabled,
)
from webapp.promotions.summary import describe
from webapp.views import is_htmx, require
from webapp.views.gift_cards import said

bp = Blueprint("bundles", __name__, url_prefix="/bundles")

BLANK_ROWS = 4
ROW_KEY = re.compile(r"items\[(\d{1,2})\]\.(product|variant|quantity)")
ROW_FIELD = re.compile(r"items\[(\d+)\](.*)")
STATUS_LABELS = {"active": "Active", "scheduled": "Scheduled", "expired": "Ended", "disabled": "Disabled"}
ITEM_LABELS = {"product": "product", "variant": "variant", "quantity": "quantity"}


def _bundle_or_404(bundle_id: int) -> Promotion:
    bundle = get_promotion(current_user.store_id, bundle_id, BUNDLE)
    if bundle is None:
        abort(404)
    return bundle


def _blank_row() -> dict:
    return {"product": "", "variant": "", "quantity": "1"}


def _blank_form() -> dict:
    return {"name": "", "rows": [_blank_row() for _ in range(BLANK_ROWS)], "kind": "percent", "discount": "",
            "priority": "100", "exclusive": False}


def _submitted() -> dict:
    form = request.form
    found: dict[int, dict] = {}
    for key in form:
        named = ROW_KEY.fullmatch(key)
        if named:
            found.setdefault(int(named[1]), {"product": "", "variant": "", "quantity": ""})[named[2]] = form[key]
    return {"name": form.get("name", ""), "rows": [found[i] for i in sorted(found)][:MAX_ITEMS],
            "kind": "amount" if form.get("kind") == "amount" else "percent", "discount": form.get("discount", ""),
            "priority": form.get("priority", ""), "exclusive": form.get("exclusive") == "1"}


def _is_blank(row: dict) -> bool:
    return not row["product"].strip() and not row["variant"].strip()


def _whole(text: str) -> int | str:
    """A typed whole number as an int; anything else as typed, for the domain to refuse in words."""
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d{1,6}", text) else text


def _item(row: dict) -> dict:
    item = {"product": row["product"].strip()}
    if row["variant"].strip():
        item["variant"] = row["variant"].strip()
    if row["quantity"].strip():
        item["quantity"] = _whole(row["quantity"])
    return item


def _data(form: dict) -> tuple[dict, list[int]]:
    """create_bundle's input, and the page row of each item it holds (blank rows left out)."""
    rows = [index for index, row in enumerate(form["rows"]) if not _is_blank(row)]
    data = {"name": form["name"], "items": [_item(form["rows"][index]) for index in rows],
            "exclusive": form["exclusive"]}
    if form["discount"].strip():
        data[form["kind"]] = form["discount"].strip()
    if form["priority"].strip():
        data["priority"] = _whole(form["priority"])
    return data, rows


def _on_page(problems: list[Problem], rows: list[int]) -> list[Problem]:
    """Problems of the n-th item named by its row on the page; percent and amount by the one input."""
    placed = []
    for problem in problems:
        field = problem.field
        row = ROW_FIELD.fullmatch(field)
        if row and int(row[1]) < len(rows):
            field = f"items[{rows[int(row[1])]}]{row[2]}"
        elif field in ("percent", "amount"):
            field = "discount"
        placed.append(Problem(field, problem.message))
    return placed


def _where(field: str) -> str:
    row = ROW_FIELD.fullmatch(field)
    if row:
        return f"Item {int(row[1]) + 1}" + (f", {ITEM_LABELS.get(row[2][1:], '')}" if row[2] else "")
    return {"name": "Name", "items": "Items", "discount": "Discount", "priority": "Priority",
            "exclusive": "Exclusive"}.get(field, "")


def _problem_map(problems: list[Problem]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for problem in problems:
        shown.setdefault(problem.field, said(problem))
    return shown


def items_text(items: list[dict]) -> str:
    """"2 × T-shirt (Blue) + 1 × Cap": each item with its variant, which describe() shows instead of the product."""
    return " + ".join(f"{item.get('quantity', 1)} × {item.get('product')}"
                      + (f" ({item['variant']})" if item.get("variant") else "") for item in items)


def discount_text(action: dict) -> str:
    if action.get("percent") is not None:
        return f"{action['percent']}% off"
    return f"{action.get('amount')} {current_user.store.currency} off"


def _summary(problems: list[Problem]) -> list[tuple[str, str]]:
    """The problems listed above the form: where each is, unless its message already says so."""
    listed = []
    for problem in problems:
        place, message = _where(problem.field), said(problem)
        listed.append(("" if message.startswith(place) else place, message))
    return listed


def _context(form: dict, problems: list[Problem]) -> dict:
    return {"form": form, "problem_at": _problem_map(problems), "problems": problems, "summary": _summary(problems),
            "max_items": MAX_ITEMS, "currency": current_user.store.currency}


def _index(form: dict | None = None, problems: list[Problem] = (), status: int = 200):
    bundles = list_promotions(current_user.store_id, BUNDLE)
    return render_template("bundles/index.html", bundles=bundles, status_of=promotion_status,
                           status_labels=STATUS_LABELS, items_text=items_text, discount_text=discount_text,
                           **_context(form or _blank_form(), list(problems))), status


def _rows_answer(form: dict):
    """Another item row: the rows alone for HTMX, else the whole page."""
    if len(form["rows"]) < MAX_ITEMS:
        form["rows"].append(_blank_row())
    if not is_htmx():
        return _index(form)
    return render_template("bundles/_items.html", **_context(form, [])), 200, {"Vary": "HX-Request"}


@bp.get("/")
@require(EDIT_PROMOTIONS)
def index():
    return _index()


@bp.post("/")
@require(EDIT_PROMOTIONS)
def create():
    form = _submitted()
    if request.form.get("edit") == "add":
        return _rows_answer(form)
    data, rows = _data(form)
    bundle, problems = create_bundle(current_user.store, data, before_commit=_audit_create)
    if problems:
        return _index(form, _on_page(problems, rows), 400)
    flash(f"Bundle “{bundle.name}” saved: {describe([], bundle.actions)}.", "success")
    return redirect(url_for("bundles.index"), 303)


def _audit_create(bundle) -> None:
    """The creation's audit entry, committed with the bundle."""
    action = bundle.actions[0]
    record(current_user.store_id, current_user.id, "bundle.created", f"bundle #{bundle.id}",
           new={"name": bundle.name, "items": action["items"], "discount": discount_text(action),
                "priority": bundle.priority, "exclusive": bundle.exclusive})


@bp.post("/<int:bundle_id>/disabled")
@require(EDIT_PROMOTIONS)
def set_bundle_disabled(bundle_id: int):
    bundle = _bundle_or_404(bundle_id)
    disabled = request.form.get("disabled") == "1"
    if bundle.disabled != disabled:
        record(current_user.store_id, current_user.id, "bundle.disabled" if disabled else "bundle.enabled",
               f"bundle #{bundle.id}", old={"disabled": not disabled}, new={"disabled": disabled})
        set_disabled(bundle, disabled)  # commits the entry with the change
    flash(f"Bundle “{bundle.name}” {'disabled: checkout no longer applies it' if disabled else 'enabled again'}.",
          "success")
    return redirect(url_for("bundles.index"), 303)
