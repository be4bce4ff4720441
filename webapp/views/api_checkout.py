"""The checkout API (store API key): price a cart with no side effects, complete it (redeem and
create the order atomically, 409 with the reason when a redemption is refused), refund what gift
cards and store credit paid."""
from __future__ import annotations

from flask import g, jsonify

from webapp.pipeline.checkout_complete import Refused, complete, refund
from webapp.promotions import checkout as pricing
from webapp.promotions.checkout_input import parse
from webapp.timeutil import utcnow
from webapp.views.api import api_key_required, bp, error, json_payload, problems_error


def _checkout(needs_number: bool):
    payload, failed = json_payload()
    if failed:
        return None, failed
    checkout, problems = parse(payload, g.api_store.currency, needs_number=needs_number)
    if problems:
        return None, problems_error(problems)
    return checkout, None


@bp.post("/checkout/price")
@api_key_required
def price_checkout():
    checkout, failed = _checkout(needs_number=False)
    if failed:
        return failed
    found, problems = pricing.quote(g.api_store, checkout, utcnow())
    if problems:
        return problems_error(problems)
    return jsonify(pricing.as_json(found))


@bp.post("/checkout/complete")
@api_key_required
def complete_checkout():
    checkout, failed = _checkout(needs_number=True)
    if failed:
        return failed
    try:
        done = complete(g.api_store, checkout, utcnow())
    except Refused as refused:
        return error(refused.status, refused.message, field=refused.field)
    return jsonify({**done.priced, "number": done.checkout.number, "checkout_id": done.checkout.id,
                    "order_id": done.order_id, "notification_ids": done.notification_ids}), 201


@bp.post("/checkout/refund")
@api_key_required
def refund_checkout():
    payload, failed = json_payload()
    if failed:
        return failed
    number = payload.get("number") if isinstance(payload, dict) else None
    if not isinstance(number, str) or not number.strip():
        return error(422, "number is the order's number", field="number")
    try:
        record = refund(g.api_store, number.strip())
    except Refused as refused:
        return error(refused.status, refused.message, field=refused.field)
    return jsonify({"number": record.number, "refunded_at": record.refunded_at.isoformat(),
                    "payments": record.priced.get("payments", [])})
