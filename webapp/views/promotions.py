"""Promotions → Promotions and Simulator: the store's promotions (kind "promotion"; bundles have their
own pages), an editor with condition and action rows and a live plain-language summary, a page per
promotion with its usage, its switch and its coupons (typed or generated, and a CSV of them), and a
simulator that prices a cart staff build against everything the store runs, without side effects.

Rows are added, removed and re-shaped by posting the whole form back with an `edit` command, as an
HTMX swap of the rows or, without JavaScript, as the whole page (see webapp/views/segments.py).
Every change is audited in the domain's own transaction. Owners and marketers; support gets a 403.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.accounts.permissions import EDIT_PROMOTIONS
from webapp.audit.models import record
from webapp.extensions import db
from webapp.promotions import checkout, checkout_input, promotion_input
from webapp.promotions import promotion_store as store_
from webapp.promotions.balances import masked
from webapp.promotions.minor import from_minor
from webapp.promotions.models import PROMOTION
from webapp.promotions.summary import describe, status
from webapp.timeutil import utcnow
from webapp.views import is_htmx, require
from webapp.views import promotion_form as form_

bp = Blueprint("promotions", __name__, url_prefix="/promotions")

COUPONS_SHOWN = 100
NEW_CODES_SHOWN = 200
STATUS_LABELS = {"scheduled": "Scheduled", "active": "Active", "expired": "Expired", "disabled": "Disabled"}


def _store():
    return current_user.store


def _promotion_or_404(promotion_id: int):
    promotion = store_.get_promotion(current_user.store_id, promotion_id, PROMOTION)
    if promotion is None:
        abort(404)
    return promotion


def _zone() -> str:
    return _store().timezone or "UTC"


def local_time(moment: datetime | None) -> str:
    """A moment as the store reads it: "24 Dec 2026 09:00"."""
    return f"{moment.astimezone(ZoneInfo(_zone())):%-d %b %Y %H:%M}" if moment else ""


def _summary_of(promotion) -> str:
    return describe(promotion.conditions or [], promotion.actions or [], promotion.starts_at, promotion.ends_at,
                    _zone())


def _common() -> dict:
    return {"status_labels": STATUS_LABELS, "local_time": local_time, "zone": _zone(),
            "currency": _store().currency}


# ------------------------------------------------------------------------------ audit

def _target(promotion_id: int | None, name: str) -> str:
    return (f"promotion #{promotion_id} ({name})" if promotion_id else f"new promotion ({name})")[:200]


def _audited(promotion) -> dict:
    return {"name": promotion.name, "priority": promotion.priority, "exclusive": promotion.exclusive,
            "starts_at": promotion.starts_at.isoformat() if promotion.starts_at else None,
            "ends_at": promotion.ends_at.isoformat() if promotion.ends_at else None,
            "conditions": promotion.conditions, "actions": promotion.actions}


def _record_save(promotion, data: dict) -> None:
    """An audit entry for a save the domain will accept, added to the session so the domain's
    commit writes it with the change (a refused save writes neither). The same parse the domain
    runs decides, and gives the name and times as they will be stored."""
    parsed, problems = promotion_input.parse(data, _store().currency, _zone())
    if problems:
        return
    new = {"name": parsed.name, "priority": parsed.priority, "exclusive": parsed.exclusive,
           "starts_at": parsed.starts_at.isoformat() if parsed.starts_at else None,
           "ends_at": parsed.ends_at.isoformat() if parsed.ends_at else None,
           "conditions": data["conditions"], "actions": data["actions"]}
    record(current_user.store_id, current_user.id, "promotion.updated" if promotion else "promotion.created",
           _target(promotion.id if promotion else None, parsed.name),
           old=_audited(promotion) if promotion else None, new=new)


# ------------------------------------------------------------------------------ the editor

def _editor_context(promotion, state: dict, problems: list) -> dict:
    action = url_for("promotions.update", promotion_id=promotion.id) if promotion else url_for("promotions.create")
    return {"promotion": promotion, "state": state, "action": action, "problems": problems,
            "problem_at": form_.problems_by_field(problems), "said": form_.said,
            "where": lambda field: form_.where(field, state), "conditions": promotion_input.CONDITIONS,
            "actions": promotion_input.ACTIONS, "type_labels": form_.TYPE_LABELS, "type_hints": form_.TYPE_HINTS,
            "inputs": form_.INPUTS, "row_problems": form_.row_problems, "max_rules": promotion_input.MAX_RULES,
            "summary": _draft_summary(state),
            **_common()}


def _editor(promotion, state: dict, problems=(), status_code: int = 200):
    return render_template("promotions/edit.html", **_editor_context(promotion, state, list(problems))), status_code


def _rows_answer(promotion, state: dict):
    """An add, remove or refresh: the rows alone for HTMX (the summary follows on its own), else the page."""
    state = form_.edited(state, request.form.get("edit", ""), request.form)
    if not is_htmx():
        return _editor(promotion, state)
    context = _editor_context(promotion, state, [])
    return render_template("promotions/_rules.html", **context), 200, {
        "HX-Trigger-After-Settle": "promotion-rules-changed", "Vary": "HX-Request"}


def _draft_summary(state: dict) -> dict:
    """The live summary of what is on the page: the sentence, the status it would have, and what is
    still to fill in before it can be saved."""
    data = form_.api_dict(state)
    parsed, problems = promotion_input.parse(data, _store().currency, _zone())
    text = describe(form_.draft_rules(data["conditions"]), form_.draft_rules(data["actions"]), parsed.starts_at,
                    parsed.ends_at, _zone())
    would_be = status(False, parsed.starts_at, parsed.ends_at, utcnow())
    return {"text": text, "status": would_be, "stacking": parsed.exclusive,
            "todo": [(form_.where(p.field, state), form_.said(p)) for p in problems if p.field != "name"]}


def _save(promotion, state: dict):
    data = form_.api_dict(state)
    _record_save(promotion, data)
    if promotion:
        problems = store_.update_promotion(promotion, _store(), data)
        saved = promotion
    else:
        saved, problems = store_.create_promotion(_store(), data)
    if problems:
        db.session.rollback()  # the audit entry, should the domain ever refuse what its parse let through
        return _editor(promotion, state, problems, 400)
    flash(f"Promotion “{saved.name}” saved.", "success")
    return redirect(url_for("promotions.detail", promotion_id=saved.id), 303)


# ------------------------------------------------------------------------------ the list and a promotion

@bp.get("")
@require(EDIT_PROMOTIONS)
def index():
    rows = store_.list_promotions(current_user.store_id, PROMOTION)
    counts = store_.coupon_counts(row.id for row in rows)
    listed = [{"promotion": row, "status": store_.promotion_status(row), "summary": _summary_of(row),
               "coupons": counts.get(row.id, (0, 0))} for row in rows]
    return render_template("promotions/index.html", listed=listed, **_common())


@bp.get("/new")
@require(EDIT_PROMOTIONS)
def new():
    return _editor(None, form_.blank_state())


@bp.post("")
@require(EDIT_PROMOTIONS)
def create():
    state = form_.submitted(request.form)
    if "edit" in request.form:
        return _rows_answer(None, state)
    return _save(None, state)


@bp.get("/<int:promotion_id>/edit")
@require(EDIT_PROMOTIONS)
def edit(promotion_id: int):
    promotion = _promotion_or_404(promotion_id)
    return _editor(promotion, form_.state_of(promotion, _zone()))


@bp.post("/<int:promotion_id>/edit")
@require(EDIT_PROMOTIONS)
def update(promotion_id: int):
    promotion = _promotion_or_404(promotion_id)
    state = form_.submitted(request.form)
    if "edit" in request.form:
        return _rows_answer(promotion, state)
    return _save(promotion, state)


@bp.post("/summary")
@require(EDIT_PROMOTIONS)
def summary():
    """The live summary for the editor's form (nothing is saved)."""
    return render_template("promotions/_summary.html", summary=_draft_summary(form_.submitted(request.form)),
                           **_common())


def _detail_context(promotion, coupon_form: dict | None = None, problems=(), added=()) -> dict:
    coupons, uses = store_.coupon_counts([promotion.id]).get(promotion.id, (0, 0))
    return {"promotion": promotion, "status": store_.promotion_status(promotion), "summary": _summary_of(promotion),
            "discount_given": from_minor(promotion.discount_minor or 0, _store().currency),
            "coupon_total": coupons, "coupon_uses": uses, "coupons": store_.coupons_of(promotion, COUPONS_SHOWN),
            "needs_code": any(rule.get("type") == "coupon" for rule in promotion.conditions or []),
            "coupon_form": coupon_form or {"code": "", "count": "", "usage_limit": "", "once_per_customer": False},
            "problem_at": form_.problems_by_field(list(problems)), "added": list(added)[:NEW_CODES_SHOWN],
            "added_total": len(added), **_common()}


@bp.get("/<int:promotion_id>")
@require(EDIT_PROMOTIONS)
def detail(promotion_id: int):
    return render_template("promotions/detail.html", **_detail_context(_promotion_or_404(promotion_id)))


def _switch(promotion_id: int, disabled: bool):
    promotion = _promotion_or_404(promotion_id)
    if promotion.disabled != disabled:
        record(current_user.store_id, current_user.id, "promotion.disabled" if disabled else "promotion.enabled",
               _target(promotion.id, promotion.name), old={"disabled": promotion.disabled}, new={"disabled": disabled})
        store_.set_disabled(promotion, disabled)  # commits the entry with the change
    flash(f"Promotion “{promotion.name}” {'disabled: checkouts no longer apply it' if disabled else 'enabled'}.",
          "success")
    return redirect(url_for("promotions.detail", promotion_id=promotion.id), 303)


@bp.post("/<int:promotion_id>/disable")
@require(EDIT_PROMOTIONS)
def disable(promotion_id: int):
    return _switch(promotion_id, True)


@bp.post("/<int:promotion_id>/enable")
@require(EDIT_PROMOTIONS)
def enable(promotion_id: int):
    return _switch(promotion_id, False)


@bp.post("/<int:promotion_id>/coupons")
@require(EDIT_PROMOTIONS)
def add_coupons(promotion_id: int):
    promotion = _promotion_or_404(promotion_id)
    shown = {"code": request.form.get("code", ""), "count": request.form.get("count", ""),
             "usage_limit": request.form.get("usage_limit", ""),
             "once_per_customer": request.form.get("once_per_customer") == "1"}
    wanted, problems = store_.parse_coupon_request(form_.coupon_dict(request.form))
    added = []
    if not problems:
        record(current_user.store_id, current_user.id, "promotion.coupons_added", _target(promotion.id, promotion.name),
               new={"code": wanted.code, "count": wanted.count, "usage_limit": wanted.usage_limit,
                    "once_per_customer": wanted.once_per_customer})
        added, problems = store_.add_coupons(promotion, wanted)  # commits the entry with the codes, or neither
    if not problems:
        shown = None  # a fresh form for the next ones
    context = _detail_context(promotion, shown, problems, added)
    page = "promotions/_coupons.html" if is_htmx() else "promotions/detail.html"
    return render_template(page, **context), 400 if problems else 200, {"Vary": "HX-Request"}


@bp.get("/<int:promotion_id>/coupons.csv")
@require(EDIT_PROMOTIONS)
def coupons_csv(promotion_id: int):
    promotion = _promotion_or_404(promotion_id)
    return store_.coupons_csv(promotion), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="promotion-{promotion.id}-coupons.csv"'}


# ------------------------------------------------------------------------------ the simulator

def _simulated(cart: dict) -> tuple[dict | None, list]:
    """The priced answer for the cart (what the checkout API would say), or the problems, each named
    by its input on the page. Prices only: nothing is redeemed or written."""
    store = _store()
    data, rows = form_.checkout_dict(cart, store.currency)
    parsed, problems = checkout_input.parse(data, store.currency)
    if not problems:
        found, problems = checkout.quote(store, parsed, utcnow())
        if not problems:
            return checkout.as_json(found), []
    return None, [form_.on_page(problem, rows) for problem in problems]


@bp.route("/simulator", methods=["GET", "POST"])
@require(EDIT_PROMOTIONS)
def simulator():
    cart, result, problems = form_.blank_cart(), None, []
    if request.method == "POST":
        cart = form_.cart_submitted(request.form)
        if "edit" in request.form:
            cart = form_.cart_edited(cart, request.form["edit"])
        else:
            result, problems = _simulated(cart)
    ours = {row.id for row in store_.list_promotions(current_user.store_id, PROMOTION)}
    context = {"cart": cart, "result": result, "problems": problems,
               "problem_at": form_.problems_by_field(problems), "ours": ours, "masked": masked,
               "max_lines": form_.MAX_PAGE_LINES, **_common()}
    page = "promotions/_simulator.html" if is_htmx() else "promotions/simulator.html"
    return render_template(page, **context), 400 if problems else 200, {"Vary": "HX-Request"}
