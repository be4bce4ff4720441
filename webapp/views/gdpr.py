"""GDPR on the dashboard: start a customer's data export or erasure and follow the requests, and the
customer's own download of an export (no login: the signed link in the "export ready" message)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.accounts.permissions import GDPR_ERASE, GDPR_EXPORT
from webapp.customers import gdpr
from webapp.customers.export_links import ExportLinks, expires_at
from webapp.customers.models import Customer
from webapp.extensions import db
from webapp.pipeline.gdpr import download_url, request_erasure, request_export
from webapp.timeutil import utcnow
from webapp.views import is_htmx, render_page, require

bp = Blueprint("gdpr", __name__)
ERASE_WORD = "ERASE"


def export_links() -> ExportLinks:
    return ExportLinks.from_config(current_app.config)


def _customer_or_404(customer_id: int) -> Customer:
    customer = db.session.scalar(select(Customer).where(Customer.id == customer_id,
                                                        Customer.store_id == current_user.store_id))
    if customer is None:
        abort(404)
    return customer


def _list_context(customer: Customer) -> dict:
    return {"customer": customer, "gdpr_requests": gdpr.requests_of(customer.store_id, customer.id),
            "export_expiry": expires_at, "now": utcnow()}


def _panel(customer: Customer, status: int = 200, *, error: str | None = None, notice: str | None = None,
           form: dict | None = None):
    """The GDPR panel of the customer page (HTMX), or this area's own page."""
    return render_page("gdpr/requests.html", "customers/_gdpr_actions.html", status, erase_word=ERASE_WORD,
                       gdpr_error=error, gdpr_notice=notice, gdpr_form=form, **_list_context(customer))


@bp.get("/customers/<int:customer_id>/gdpr")
@require(GDPR_EXPORT)
def requests_list(customer_id: int):
    customer = _customer_or_404(customer_id)
    if is_htmx() and request.args.get("part") == "list":  # the list polling itself while a request runs
        return render_template("gdpr/_requests.html", **_list_context(customer))
    return _panel(customer)


@bp.post("/customers/<int:customer_id>/gdpr/export")
@require(GDPR_EXPORT)
def export(customer_id: int):
    customer = _customer_or_404(customer_id)
    try:
        made = request_export(current_user.store, customer, current_user)
    except gdpr.GdprError as error:
        return _panel(customer, 400, error=str(error))
    return _done(customer, made, "Export requested: the customer gets an email with the download link when it "
                                 "is ready.")


@bp.post("/customers/<int:customer_id>/gdpr/erase")
@require(GDPR_ERASE)
def erase(customer_id: int):
    customer = _customer_or_404(customer_id)
    form = {"confirmation": request.form.get("confirmation", ""), "reason": request.form.get("reason", "")}
    if not _confirmed(customer, form["confirmation"]):
        what = f"the customer's email ({customer.email}) or" if customer.email else ""
        return _panel(customer, 400, form=form, error=f"Type {what} the word {ERASE_WORD} to confirm. Nothing was "
                                                      "erased.")
    try:
        made = request_erasure(current_user.store, customer, current_user, form["reason"])
    except gdpr.GdprError as error:
        return _panel(customer, 400, form=form, error=str(error))
    return _done(customer, made, "Erasure requested: the customer's personal data is being removed.")


def _confirmed(customer: Customer, typed: str) -> bool:
    typed = typed.strip()
    return typed == ERASE_WORD or bool(customer.email) and typed.casefold() == customer.email.casefold()


def _done(customer: Customer, made, notice: str):
    if made.status == gdpr.FAILED:
        return _panel(customer, 503, error=made.error)
    if is_htmx():
        return _panel(customer, notice=notice)
    return redirect(url_for("gdpr.requests_list", customer_id=customer.id), code=303)


@bp.get("/gdpr/download/<token>")
def download(token: str):
    link = export_links().verify(token)
    if link is None:
        abort(404)
    made = gdpr.request_in_store(link.store_id, link.request_id)
    if link.expired(utcnow()) or made is None or download_url(made, export_links()) is None:
        return render_template("error.html", status=410, title="This link has expired",
                               message="The download is no longer available. Ask the shop for a new copy of "
                                       "your data."), 410
    response = current_app.json.response(made.result)
    response.headers["Content-Disposition"] = f'attachment; filename="data-export-{made.id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
