"""Promotions → Gift cards: the store's cards newest first with a search by code, the form that
issues one, and each card's page (balance, ledger, disable or enable, staff adjustments).

A code is money: lists and audit entries show only its last four characters, and the full code is
shown exactly once, on the card's page right after it was issued (the issuing request leaves the
card's id, never the code, in the session). Also the helpers the customer page's store credit
shares: amounts signed with their currency, problems in words, checkout references. Owners and
marketers; support gets a 403.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.accounts.permissions import EDIT_PROMOTIONS
from webapp.audit.models import record
from webapp.extensions import db
from webapp.promotions.balances import (
    MAX_VALUE,
    adjust_card,
    card_ledger,
    card_status,
    find_card,
    issue_gift_card,
    masked,
    parse_gift_card,
    set_card_disabled,
)
from webapp.promotions.minor import from_minor, to_minor
from webapp.promotions.models import Checkout, GiftCard
from webapp.promotions.money import parse_amount
from webapp.promotions.promotion_input import Problem
from webapp.views import cursor_arg, require

bp = Blueprint("gift_cards", __name__, url_prefix="/gift-cards")

PAGE_SIZE = 50
REVEAL_KEY = "gift_card_reveal"  # the id of the card whose code the next visit to its page shows, once
NO_STORE = {"Cache-Control": "no-store"}  # a page that may carry a full code must not be cached
FIELD_LABELS = {"code": "Code", "value": "Value", "currency": "Currency", "recipient_email": "Recipient email",
                "expires_at": "Expiry", "message": "Message", "amount": "Amount", "reason": "Reason",
                "note": "Note"}
KIND_LABELS = {"issue": "Issued", "redeem": "Spent", "refund": "Refunded", "adjust": "Adjusted"}
STATUS_LABELS = {"active": "Active", "disabled": "Disabled", "expired": "Expired"}


# ------------------------------------------------------------------------- shared with store credit

def said(problem: Problem) -> str:
    """The domain's message with its field named in words: "Recipient email is not an email address"."""
    message = problem.message
    for name in sorted(FIELD_LABELS, key=len, reverse=True):
        if message.startswith(f"{name} "):
            message = FIELD_LABELS[name] + message[len(name):]
            break
    return message[:1].upper() + message[1:]


def problems_at(problems: list[Problem]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for problem in problems:
        shown.setdefault(problem.field, said(problem))
    return shown


def money(minor: int, currency: str, signed: bool = False) -> str:
    """"12.50 USD", or signed for a ledger: "+12.50 USD", "−5.00 USD" (a real minus sign)."""
    amount = from_minor(minor, currency)
    if not signed:
        return f"{amount} {currency}"
    return f"{'+' if minor >= 0 else '−'}{abs(amount)} {currency}"


def checkout_references(store_id: int, checkout_ids) -> dict[int, Checkout]:
    """The store's checkouts a ledger names, by id, so each entry can show its order number."""
    ids = sorted({checkout_id for checkout_id in checkout_ids if checkout_id})
    if not ids:
        return {}
    rows = db.session.scalars(select(Checkout).where(Checkout.store_id == store_id, Checkout.id.in_(ids)))
    return {row.id: row for row in rows}


def signed_amount(raw: str, currency: str) -> Decimal:
    """A typed correction such as "-5.00" or "+2.50"; ValueError in words when it is not one."""
    text = raw.strip()
    negative = text.startswith(("-", "−"))
    digits = text[1:] if text[:1] in ("-", "−", "+") else text
    amount = parse_amount(digits, currency)
    if amount == 0 or amount > MAX_VALUE:
        raise ValueError(f"amount is not 0 and at most {MAX_VALUE} either way")
    return -amount if negative else amount


# ------------------------------------------------------------------------------------ the pages

def _card_or_404(card_id: int) -> GiftCard:
    card = db.session.scalar(select(GiftCard).where(GiftCard.store_id == current_user.store_id,
                                                    GiftCard.id == card_id))
    if card is None:
        abort(404)
    return card


def _listed(before: int | None) -> tuple[list[GiftCard], int | None]:
    query = select(GiftCard).where(GiftCard.store_id == current_user.store_id)
    if before:
        query = query.where(GiftCard.id < before)
    rows = list(db.session.scalars(query.order_by(GiftCard.id.desc()).limit(PAGE_SIZE + 1)))
    return rows[:PAGE_SIZE], rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None


def _local(moment: datetime | None) -> str:
    """A moment in the store's time zone, as the expiry was typed."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(current_user.store.timezone)).strftime("%Y-%m-%d %H:%M")


def _blank_form() -> dict:
    return {"value": "", "currency": current_user.store.currency, "recipient_email": "", "message": "",
            "expires_on": "", "code": ""}


def _index(form: dict | None = None, problems: list[Problem] = (), status: int = 200):
    query = request.args.get("code", "").strip()
    before = cursor_arg()
    if query:
        found = find_card(current_user.store_id, query)
        cards, next_before = ([found] if found else []), None
    else:
        cards, next_before = _listed(before)
    return render_template("gift_cards/index.html", cards=cards, next_before=next_before, before=before,
                           query=query, form=form or _blank_form(), problem_at=problems_at(list(problems)),
                           masked=masked, money=money, status_of=card_status, status_labels=STATUS_LABELS,
                           local=_local, timezone=current_user.store.timezone), status


def _request_data(form: dict) -> dict:
    """The form in parse_gift_card's shape: blank optional fields left out; a date of expiry means
    the card is good through the end of that day in the store's time zone."""
    data = {"value": form["value"].strip(), "currency": form["currency"].strip() or current_user.store.currency}
    for name in ("code", "recipient_email", "message"):
        if form[name].strip():
            data[name] = form[name].strip()
    if form["expires_on"].strip():
        data["expires_at"] = f"{form['expires_on'].strip()}T23:59:59"
    return data


@bp.get("/")
@require(EDIT_PROMOTIONS)
def index():
    return _index()


@bp.post("/")
@require(EDIT_PROMOTIONS)
def issue():
    form = {name: request.form.get(name, "") for name in _blank_form()}
    parsed, problems = parse_gift_card(_request_data(form), current_user.store)
    if not problems:
        card, problems = issue_gift_card(current_user.store, parsed, before_commit=_audit_issue)
    if problems:
        # The expiry is typed as a date; the domain names it expires_at.
        problems = [Problem("expires_on", p.message) if p.field == "expires_at" else p for p in problems]
        return _index(form, problems, 400)
    session[REVEAL_KEY] = card.id
    return redirect(url_for("gift_cards.detail", card_id=card.id), 303)


def _audit_issue(card: GiftCard) -> None:
    """The issue's audit entry, committed with the card itself."""
    record(current_user.store_id, current_user.id, "gift_card.issued", f"gift card #{card.id} ({masked(card.code)})",
           new={"value": str(from_minor(card.value_minor, card.currency)), "currency": card.currency,
                "recipient_email": card.recipient_email,
                "expires_at": card.expires_at.isoformat() if card.expires_at else None, "code_last4": card.code[-4:]})


def _detail(card: GiftCard, adjust_form: dict | None = None, problems: list[Problem] = (), status: int = 200):
    ledger = card_ledger(card)
    # Shown once: only on the first visit after issuing, and only for the card that was issued.
    reveal = session.pop(REVEAL_KEY, None) == card.id
    return render_template("gift_cards/detail.html", card=card, ledger=ledger, reveal=reveal,
                           checkouts=checkout_references(card.store_id, (e.checkout_id for e in ledger)),
                           status=card_status(card), status_labels=STATUS_LABELS, kind_labels=KIND_LABELS,
                           balance=money(card.balance_minor, card.currency), value=money(card.value_minor,
                                                                                         card.currency),
                           money=money, masked=masked, local=_local, timezone=current_user.store.timezone,
                           adjust_form=adjust_form or {"amount": "", "note": ""},
                           problem_at=problems_at(list(problems))), status, NO_STORE


@bp.get("/<int:card_id>")
@require(EDIT_PROMOTIONS)
def detail(card_id: int):
    return _detail(_card_or_404(card_id))


@bp.post("/<int:card_id>/disabled")
@require(EDIT_PROMOTIONS)
def set_disabled(card_id: int):
    card = _card_or_404(card_id)
    disabled = request.form.get("disabled") == "1"
    if card.disabled != disabled:
        record(current_user.store_id, current_user.id, "gift_card.disabled" if disabled else "gift_card.enabled",
               f"gift card #{card.id} ({masked(card.code)})", old={"disabled": not disabled},
               new={"disabled": disabled})
        set_card_disabled(card, disabled)  # commits the entry with the change
    flash(f"Gift card {masked(card.code)} {'disabled: it cannot be spent' if disabled else 'enabled again'}.",
          "success")
    return redirect(url_for("gift_cards.detail", card_id=card.id), 303)


@bp.post("/<int:card_id>/adjust")
@require(EDIT_PROMOTIONS)
def adjust(card_id: int):
    card = _card_or_404(card_id)
    form = {"amount": request.form.get("amount", ""), "note": request.form.get("note", "")}
    problems = []
    try:
        delta = signed_amount(form["amount"], card.currency)
    except ValueError as error:
        problems.append(Problem("amount", str(error)))
    note = form["note"].strip()
    if not note or len(note) > 300:
        problems.append(Problem("note", "note is required: say why (at most 300 characters)"))
    if problems:
        return _detail(card, form, problems, 400)
    before = card.balance_minor
    # Committed with the change, or rolled back with it when the card cannot go that low.
    record(current_user.store_id, current_user.id, "gift_card.adjusted", f"gift card #{card.id} ({masked(card.code)})",
           old={"balance": str(from_minor(before, card.currency))},
           new={"balance": str(from_minor(before, card.currency) + delta), "change": str(delta)}, reason=note)
    if not adjust_card(card, delta, note):
        db.session.refresh(card)
        why = (f"amount would take the card below zero: it holds {money(card.balance_minor, card.currency)}, "
               f"so it can go down by at most that")
        return _detail(card, form, [Problem("amount", why)], 409)
    db.session.refresh(card)
    flash(f"Balance adjusted by {money(to_minor(delta, card.currency), card.currency, signed=True)}: "
          f"it is now {money(card.balance_minor, card.currency)}.", "success")
    return redirect(url_for("gift_cards.detail", card_id=card.id, _anchor="ledger"), 303)
