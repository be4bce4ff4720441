"""POST /api/v1/messages (store API key): send any message type that is not an order status to a
customer, through the store's routing. How a storefront sends password resets and GDPR notices.

201 with the notifications planned; the same idempotency key again answers those same
notifications with 200 and sends nothing. Errors are 400 (malformed), 404 (no such customer in
this store) or 422 (understood but refused, e.g. an order status), and write nothing.
"""
from __future__ import annotations

from flask import g, jsonify, request

from webapp import jsonbody
from webapp.extensions import db
from webapp.notifications.message_customers import customer_for
from webapp.notifications.message_input import MessageInputError, parse_message
from webapp.notifications.send import already_sent, send_message
from webapp.views.api import api_key_required, bp, error, notification_json


def _answer(rows, customer, status: int):
    """The notifications in the same shape as GET /api/v1/notifications, rendered message included."""
    return jsonify({"customer_id": customer.id, "notification_ids": [row.id for row in rows],
                    "notifications": [notification_json(row, None) for row in rows]}), status


@bp.post("/messages")
@api_key_required
def post_message():
    store = g.api_store
    try:
        body = jsonbody.loads(request.get_data())
        asked = parse_message(body, request.headers.get("Idempotency-Key"))
        customer = customer_for(store, asked.customer)
    except MessageInputError as problem:
        db.session.rollback()
        return error(problem.status, str(problem), field=problem.field)
    except (ValueError, UnicodeDecodeError) as problem:
        return error(400, f"invalid JSON: {problem}")
    if customer.id is not None:
        earlier = already_sent(store.id, customer, asked.idempotency_key)
        if earlier:
            db.session.rollback()  # the lookup may have filled a blank: a repeat changes nothing
            if any(row.message_type != asked.message_type for row in earlier):
                return error(422, "idempotency_key was already used for another message type",
                             field="idempotency_key")
            return _answer(earlier, customer, 200)
    rows = send_message(store, customer, asked.message_type, key=asked.idempotency_key, source="api",
                        reason="API: POST /api/v1/messages", data=asked.data)
    return _answer(rows, customer, 201)
