"""Customers: the list with search and filters, each customer's page (profile, orders, every
notification and why, consent per channel with its history and suppressions, staff opt-in and
opt-out, groups and tags), and CSV imports: upload, preview with the column mapping, run, result.

Everyone with a role sees customers; owners, marketers and support change consent (support take
opt-out requests on the phone); only owners and marketers import.
"""
from __future__ import annotations

import redis
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp import vocabulary
from webapp.accounts.permissions import EDIT_CUSTOMERS, IMPORT_CUSTOMERS, VIEW_CUSTOMERS
from webapp.audit.models import record
from webapp.consent.bulk import set_consents
from webapp.consent.state import ConsentError, consent_history, set_consent
from webapp.consent.vocabulary import CONSENT_CHANNELS, SOURCES, STATUS_LABELS, STATUSES
from webapp.customers import csv_import, import_store
from webapp.customers.directory import DirectoryFilterError, get_customer, parse_filter, search
from webapp.customers.fields import FieldError, split_labels
from webapp.dispatch.queueing import queue
from webapp.extensions import db
from webapp.promotions.balances import (
    credit_account,
    credit_accounts,
    credit_balance,
    credit_ledger,
    issue_credit,
    parse_credit,
)
from webapp.promotions.promotion_input import Problem
from webapp.views import is_htmx, render_page, require
from webapp.views.gift_cards import KIND_LABELS, checkout_references, money, problems_at
from webapp.views.read import customers as read

bp = Blueprint("customers", __name__, url_prefix="/customers")
SYNC_IMPORT_ROWS = 2000  # up to this many rows run in the request; more go to a job with a progress bar
UPLOAD_LIMIT = 32 * 1024 * 1024  # 200,000 rows with room to spare; every other request keeps 1 MiB
IMPORT_JOB = "jobs.customer_import.run_import"


@bp.url_value_preprocessor
def _allow_large_uploads(endpoint, values):
    # CSRF protection reads the form in a before_request handler, which runs after this hook: the
    # upload's limit must be raised before any of the body is read.
    if endpoint == "customers.upload":
        request.max_content_length = UPLOAD_LIMIT


def _customer_or_404(customer_id: int):
    customer = get_customer(db.session, current_user.store_id, customer_id)
    if customer is None:
        abort(404)
    return customer


@bp.get("")
@require(VIEW_CUSTOMERS)
def index():
    context = {"form": request.args, "channels": CONSENT_CHANNELS, "statuses": STATUSES,
               "status_labels": STATUS_LABELS, "channel_title": read.channel_title}
    try:
        filters = parse_filter(request.args, CONSENT_CHANNELS, STATUSES)
    except DirectoryFilterError as error:
        return render_page("customers/index.html", "customers/_results.html", 400, error=str(error), results=None,
                           filters=None, consents={}, **context)
    keep, drop = read.consent_filter(current_user.store_id, filters.consent_channel, filters.consent_status)
    page = search(db.session, current_user.store_id, filters, customer_ids=keep, exclude_ids=drop)
    consents = read.consents_by_customer([customer.id for customer in page.rows])
    return render_page("customers/index.html", "customers/_results.html", error=None, results=page, filters=filters,
                       consents=consents, **context)


def _consent_context(customer, notice: str | None = None, error: str | None = None) -> dict:
    return {"customer": customer, "consent": read.consent_overview(customer),
            "history": consent_history(customer.id), "sources": SOURCES, "action_labels": read.ACTION_LABELS,
            "channel_title": read.channel_title,
            "notice": notice, "consent_error": error}


def _detail(customer, status: int = 200, labels_error: str | None = None, labels_form: dict | None = None,
            credit: dict | None = None):
    return render_template(
        "customers/detail.html", orders=read.orders_of(customer), notifications=read.notifications_of(customer),
        labels_error=labels_error, gdpr_enabled=current_user.can(EDIT_CUSTOMERS), vocabulary=vocabulary,
        labels_form=labels_form or {"groups": ", ".join(customer.groups or []), "tags": ", ".join(customer.tags or [])},
        **_consent_context(customer), **(credit or _credit_context(customer))), status


@bp.get("/<int:customer_id>")
@require(VIEW_CUSTOMERS)
def detail(customer_id: int):
    return _detail(_customer_or_404(customer_id))


@bp.post("/<int:customer_id>/consent")
@require(EDIT_CUSTOMERS)
def change_consent(customer_id: int):
    """Staff opt a customer in or out on one channel, e.g. when asked on the phone."""
    customer = _customer_or_404(customer_id)
    channel, status = request.form.get("channel", ""), request.form.get("status", "")
    try:
        changed = set_consent(customer, channel, status, "staff", actor=current_user.email)
    except ConsentError as problem:
        db.session.rollback()
        return _consent_answer(customer, None, f"Consent not changed: {problem}.", 400)
    db.session.commit()
    state = STATUS_LABELS[status].lower()
    name = read.channel_title(channel)
    notice = f"{name}: {state}." if changed else f"{name} was already {state}."
    return _consent_answer(customer, notice, None, 200)


def _consent_answer(customer, notice: str | None, error: str | None, status: int):
    if is_htmx():
        return render_template("customers/_consent.html", **_consent_context(customer, notice, error)), status
    flash(error or notice, "error" if error else "success")
    return redirect(url_for("customers.detail", customer_id=customer.id, _anchor="consent")), 303


@bp.post("/<int:customer_id>/labels")
@require(EDIT_CUSTOMERS)
def change_labels(customer_id: int):
    customer = _customer_or_404(customer_id)
    form = {"groups": request.form.get("groups", ""), "tags": request.form.get("tags", "")}
    try:
        groups, tags = split_labels("groups", form["groups"]) or (), split_labels("tags", form["tags"]) or ()
    except FieldError as problem:
        return _detail(customer, 400, f"Not saved: {problem}.", form)
    before = {"groups": list(customer.groups or []), "tags": list(customer.tags or [])}
    customer.groups, customer.tags = list(groups), list(tags)
    record(customer.store_id, current_user.id, "customer.labels_changed", f"customer #{customer.id}", before,
           {"groups": list(groups), "tags": list(tags)})
    db.session.commit()
    flash("Groups and tags saved.", "success")
    return redirect(url_for("customers.detail", customer_id=customer.id))


# ------------------------------------------------------------------------------------- store credit

def _credit_context(customer, form: dict | None = None, problems: list[Problem] = (),
                    notice: str | None = None) -> dict:
    """The store credit section: a balance per currency, the ledger, and the issue / take back form."""
    ledger = credit_ledger(current_user.store_id, customer.id)
    return {"credit_balances": [money(a.balance_minor, a.currency) for a in credit_accounts(current_user.store_id,
                                                                                          customer.id)],
            "credit_ledger": [(entry, money(entry.amount_minor, currency, signed=True)) for entry, currency in ledger],
            "credit_checkouts": checkout_references(current_user.store_id, (e.checkout_id for e, _ in ledger)),
            "credit_kinds": KIND_LABELS, "credit_notice": notice, "credit_problem_at": problems_at(list(problems)),
            "credit_form": form or {"amount": "", "currency": current_user.store.currency, "reason": ""}}


@bp.post("/<int:customer_id>/store-credit")
@require(EDIT_CUSTOMERS)
def change_store_credit(customer_id: int):
    """Staff issue store credit (goodwill, a refund) or take it back with a negative amount, never below zero."""
    customer = _customer_or_404(customer_id)
    form = {name: request.form.get(name, "").strip() for name in ("amount", "currency", "reason")}
    if customer.erased_at:
        return _credit_answer(customer, form, [Problem("amount", "this customer's data was erased")], 409)
    parsed, problems = parse_credit({**form, "currency": form["currency"] or current_user.store.currency},
                                    current_user.store)
    if problems:
        return _credit_answer(customer, form, problems, 400)
    amount, currency, reason = parsed
    held = credit_balance(credit_account(current_user.store_id, customer.id, currency))
    # Committed with the credit, or rolled back with it when it would go below zero.
    record(current_user.store_id, current_user.id, "store_credit.issued", f"customer #{customer.id}",
           new={"amount": str(amount), "currency": currency, "balance": str(held + amount)}, reason=reason)
    if not issue_credit(current_user.store, customer, amount, currency, reason):
        held = credit_balance(credit_account(current_user.store_id, customer.id, currency))
        return _credit_answer(customer, form, [Problem("amount", f"Not taken back: the store credit holds {held} "
                                                                 f"{currency}, less than {-amount} {currency}")], 409)
    balance = credit_balance(credit_account(current_user.store_id, customer.id, currency))
    done = "issued" if amount > 0 else "taken back"
    notice = f"{abs(amount)} {currency} {done}: the balance is {balance} {currency}."
    return _credit_answer(customer, None, [], 200, notice)


def _credit_answer(customer, form: dict | None, problems: list[Problem], status: int, notice: str | None = None):
    context = _credit_context(customer, form, problems, notice)
    if is_htmx():
        return render_template("customers/_store_credit.html", customer=customer, **context), status
    if problems:
        return _detail(customer, status, credit=context)
    flash(notice, "success")
    return redirect(url_for("customers.detail", customer_id=customer.id, _anchor="store-credit")), 303


# ------------------------------------------------------------------------------------------ imports

def _imports_page(error: str | None = None, status: int = 200):
    return render_template("customers/imports.html", imports=import_store.recent_imports(current_user.store_id),
                           error=error, sync_rows=SYNC_IMPORT_ROWS, max_rows=csv_import.MAX_ROWS), status


def _import_or_404(import_id: int):
    row = import_store.get_import(current_user.store_id, import_id)
    if row is None:
        abort(404)
    return row


@bp.get("/imports")
@require(IMPORT_CUSTOMERS)
def imports():
    return _imports_page()


@bp.post("/imports")
@require(IMPORT_CUSTOMERS)
def upload():
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _imports_page("Choose a CSV file to upload.", 400)
    try:
        row = import_store.create_import(current_user.store_id, current_user.id, sent.filename, sent.read())
    except csv_import.CsvError as problem:
        db.session.rollback()
        return _imports_page(f"{sent.filename} cannot be imported: {problem}.", 400)
    return redirect(url_for("customers.show_import", import_id=row.id))


def _preview_page(row, problems=(), form=None, status: int = 200):
    found = import_store.preview_of(row)
    chosen = form["columns"] if form else [(row.mapping or {}).get(heading, "") for heading in found.headers]
    return render_template("customers/import_preview.html", row=row, preview=found, chosen=chosen,
                           fields=csv_import.FIELDS, consent_fields=csv_import.CONSENT_FIELDS,
                           origins=import_store.CONSENT_ORIGINS, origin=(form or {}).get("origin", ""),
                           problems=list(problems), sync_rows=SYNC_IMPORT_ROWS,
                           delimiter=csv_import.DELIMITER_NAMES.get(found.delimiter, "") if found else ""), status


@bp.get("/imports/<int:import_id>")
@require(IMPORT_CUSTOMERS)
def show_import(import_id: int):
    row = _import_or_404(import_id)
    if row.status == import_store.PREVIEWED:
        return _preview_page(row)
    return render_template("customers/import_result.html", row=row)


@bp.post("/imports/<int:import_id>")
@require(IMPORT_CUSTOMERS)
def start_import(import_id: int):
    """Run the import with the chosen mapping: here when it is small, else as a job."""
    row = _import_or_404(import_id)
    if row.status != import_store.PREVIEWED:
        return redirect(url_for("customers.show_import", import_id=row.id))
    columns = request.form.getlist("column")
    form = {"columns": columns, "origin": request.form.get("consent_origin", "")}
    problems = import_store.choose(row, columns, form["origin"])
    if problems:
        return _preview_page(row, problems, form, 400)
    if row.total_rows <= SYNC_IMPORT_ROWS:
        import_store.run_import(row.id, set_consents)
    elif import_store.mark_queued(row):
        try:
            queue("transactional").enqueue(IMPORT_JOB, row.id, job_id=f"customer-import-{row.id}",
                                           job_timeout=900, result_ttl=0, failure_ttl=7 * 86400)
        except (redis.ConnectionError, redis.TimeoutError):
            import_store.back_to_preview(row)
            return _preview_page(row, ["The job queue is not answering just now, so the import did not start. "
                                       "Try again in a moment."], form, 503)
    return redirect(url_for("customers.show_import", import_id=row.id))


@bp.get("/imports/<int:import_id>/progress")
@require(IMPORT_CUSTOMERS)
def import_progress(import_id: int):
    return render_template("customers/_import_status.html", row=_import_or_404(import_id))


@bp.post("/imports/<int:import_id>/discard")
@require(IMPORT_CUSTOMERS)
def discard_import(import_id: int):
    row = _import_or_404(import_id)
    if import_store.discard(row):
        flash(f"{row.filename} was discarded; nothing was imported.", "success")
    return redirect(url_for("customers.imports"))
