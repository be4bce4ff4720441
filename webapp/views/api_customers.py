"""Customers through the API (store API key): create or update one (by its external id under
"api", else its email), read one with its consent per channel and suppressions, and set its
consent on a channel, which requires saying where the consent came from. Bad input is a 400 (not
JSON) or 422 (a field is wrong) naming the problem, and changes nothing."""
from __future__ import annotations

from flask import g, jsonify, request

from webapp import jsonbody
from webapp.consent.state import ConsentError, consents_of, set_consent
from webapp.consent.vocabulary import CONSENT_CHANNELS, NEVER_ASKED
from webapp.customers.bulk_upsert import upsert_customers
from webapp.customers.directory import get_customer
from webapp.customers.fields import (
    CustomerRow,
    FieldError,
    clean_country,
    clean_email,
    clean_external_id,
    clean_labels,
    clean_locale,
    clean_name,
    clean_phone,
    clean_timezone,
)
from webapp.extensions import db
from webapp.views.api import api_key_required, bp, error
from webapp.views.read.customers import suppressions_of

API_SOURCE = "api"
CUSTOMER_FIELDS = ("external_id", "email", "phone", "name", "locale", "timezone", "country", "groups", "tags")
CONSENT_FIELDS = ("channel", "status", "source", "ip", "user_agent")


def _iso(value):
    return value.isoformat() if value else None


def customer_json(customer) -> dict:
    consents = consents_of(customer.id)
    return {
        "id": customer.id, "external_ids": customer.external_ids or {}, "name": customer.name, "email": customer.email,
        "phone": customer.phone, "locale": customer.locale, "timezone": customer.timezone,
        "country": customer.country, "groups": customer.groups or [], "tags": customer.tags or [],
        "consent": {channel: consents.get(channel, NEVER_ASKED) for channel in CONSENT_CHANNELS},
        "suppressions": [{"channel": row.channel, "address": row.address, "reason": row.reason,
                          "since": _iso(row.created_at)} for row in suppressions_of(customer)],
        "created_at": _iso(customer.created_at), "updated_at": _iso(customer.updated_at),
        "erased_at": _iso(customer.erased_at),
    }


def _body(allowed: tuple[str, ...]):
    """The JSON object of the request, or (None, a 400/422 answer)."""
    try:
        payload = jsonbody.loads(request.get_data())
    except (ValueError, UnicodeDecodeError) as exc:
        return None, error(400, f"invalid JSON: {exc}")
    if not isinstance(payload, dict):
        return None, error(400, "send a JSON object")
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        return None, error(422, f"unknown field “{unknown[0]}”; the fields are: {', '.join(allowed)}",
                           field=unknown[0])
    for name, value in payload.items():
        if name not in ("groups", "tags") and value is not None and not isinstance(value, str):
            return None, error(422, f"{name} must be a string or null", field=name)
    return payload, None


def _labels(payload: dict, name: str) -> tuple[str, ...] | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FieldError(f"{name} must be a list of strings")
    return clean_labels(name, value)


def _row(payload: dict) -> CustomerRow:
    country = clean_country(payload.get("country"))
    row = CustomerRow(external_id=clean_external_id(payload.get("external_id")),
                      email=clean_email(payload.get("email")), phone=clean_phone(payload.get("phone"), country),
                      name=clean_name(payload.get("name")), locale=clean_locale(payload.get("locale")),
                      timezone=clean_timezone(payload.get("timezone")), country=country,
                      groups=_labels(payload, "groups"), tags=_labels(payload, "tags"))
    if not (row.external_id or row.email):
        raise FieldError("send an external_id or an email: the customer is found by one of them")
    return row


@bp.post("/customers")
@api_key_required
def post_customer():
    payload, failed = _body(CUSTOMER_FIELDS)
    if failed:
        return failed
    try:
        row = _row(payload)
    except FieldError as problem:
        return error(422, str(problem))
    store = g.api_store
    result = upsert_customers(db.session, store.id, store.default_locale or "en", [row], API_SOURCE,
                              match_phone=False, replace_labels=True)
    customer_id = result.customer_ids[0]
    if result.created and not (row.email or row.phone):
        db.session.rollback()
        return error(422, f"no customer has external_id “{row.external_id}”; a new customer needs an email or a phone")
    db.session.commit()
    return jsonify(customer_json(get_customer(db.session, store.id, customer_id))), 201 if result.created else 200


def _customer_or_404(customer_id: int):
    customer = get_customer(db.session, g.api_store.id, customer_id)
    return customer, None if customer else error(404, "no such customer in this store")


@bp.get("/customers/<int:customer_id>")
@api_key_required
def get_customer_json(customer_id: int):
    customer, failed = _customer_or_404(customer_id)
    return failed or jsonify(customer_json(customer))


@bp.put("/customers/<int:customer_id>/consent")
@api_key_required
def put_consent(customer_id: int):
    customer, failed = _customer_or_404(customer_id)
    if failed:
        return failed
    payload, failed = _body(CONSENT_FIELDS)
    if failed:
        return failed
    try:
        changed = set_consent(customer, payload.get("channel") or "", payload.get("status") or "",
                              payload.get("source") or "", actor="api", ip=payload.get("ip"),
                              user_agent=payload.get("user_agent"))
    except ConsentError as problem:
        db.session.rollback()
        return error(422, str(problem))
    db.session.commit()
    return jsonify({"customer_id": customer.id, "channel": payload["channel"], "status": payload["status"],
                    "changed": changed, "customer": customer_json(customer)})
