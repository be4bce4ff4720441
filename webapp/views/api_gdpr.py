"""GDPR through the API (store API key): ask for a customer's data export or erasure (202: it runs
as a job; the answer says where to follow it), and read a request's status, with the download link
once an export is ready. A customer or request of another store is a 404."""
from __future__ import annotations

from flask import g, jsonify, request, url_for
from sqlalchemy import select

from webapp import jsonbody
from webapp.customers import gdpr
from webapp.customers.export_links import expires_at
from webapp.customers.models import Customer, GdprRequest
from webapp.extensions import db
from webapp.pipeline.gdpr import download_url, request_erasure, request_export
from webapp.views.api import api_key_required, bp, error
from webapp.views.gdpr import export_links


def _iso(value):
    return value.isoformat() if value else None


def request_json(made: GdprRequest) -> dict:
    body = {"request_id": made.id, "kind": made.kind, "customer_id": made.customer_id, "status": made.status,
            "error": made.error, "created_at": _iso(made.created_at), "finished_at": _iso(made.finished_at),
            "status_url": url_for("api.get_gdpr_request", request_id=made.id, _external=True)}
    link = download_url(made, export_links())
    if link:
        body |= {"download_url": link, "expires_at": _iso(expires_at(made.finished_at))}
    return body


def _customer(customer_id: int) -> Customer | None:
    return db.session.scalar(select(Customer).where(Customer.id == customer_id,
                                                    Customer.store_id == g.api_store.id))


def _accepted(made: GdprRequest):
    if made.status == gdpr.FAILED:
        return jsonify(request_json(made)), 503
    return jsonify(request_json(made)), 202


@bp.post("/customers/<int:customer_id>/export")
@api_key_required
def post_gdpr_export(customer_id: int):
    customer = _customer(customer_id)
    if customer is None:
        return error(404, "no such customer in this store")
    try:
        return _accepted(request_export(g.api_store, customer, None))
    except gdpr.GdprError as exc:
        return error(409, str(exc))


@bp.post("/customers/<int:customer_id>/erase")
@api_key_required
def post_gdpr_erasure(customer_id: int):
    customer = _customer(customer_id)
    if customer is None:
        return error(404, "no such customer in this store")
    try:
        payload = jsonbody.loads(request.get_data() or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        return error(400, f"invalid JSON: {exc}")
    reason = payload.get("reason") if isinstance(payload, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        return error(422, "send {\"reason\": \"...\"}: why the data is erased (kept in the audit log)")
    try:
        return _accepted(request_erasure(g.api_store, customer, None, reason))
    except gdpr.GdprError as exc:
        return error(422, str(exc))


@bp.get("/gdpr/<int:request_id>")
@api_key_required
def get_gdpr_request(request_id: int):
    made = gdpr.request_in_store(g.api_store.id, request_id)
    if made is None:
        return error(404, "no such GDPR request in this store")
    return jsonify(request_json(made))
