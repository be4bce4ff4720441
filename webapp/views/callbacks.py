"""Provider callbacks: delivery receipts. Each is verified with the provider's own signature scheme
against the store's credentials before anything is read from it."""
from __future__ import annotations

import json

from flask import Blueprint, request
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from webapp.crypto import vault
from webapp.extensions import db
from webapp.notifications.models import ProviderConfig
from webapp.notifications.receipts import apply_receipt
from webapp.views import store_from_url_or_404

bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")
TWILIO_OUTCOMES = {"delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}


def _twilio_tokens(store_id: int) -> list[str]:
    rows = db.session.scalars(select(ProviderConfig).where(ProviderConfig.store_id == store_id,
                                                           ProviderConfig.provider == "twilio"))
    return [json.loads(vault().decrypt(row.secrets_encrypted)).get("auth_token", "")
            for row in rows if row.secrets_encrypted]


@bp.post("/twilio/<store_slug>/status")
def twilio_status(store_slug: str):
    """Twilio's StatusCallback; signed with X-Twilio-Signature over the URL and form parameters."""
    store = store_from_url_or_404(store_slug)
    signature = request.headers.get("X-Twilio-Signature", "")
    params = request.form.to_dict()
    if not any(RequestValidator(token).validate(request.url, params, signature)
               for token in _twilio_tokens(store.id) if token):
        return {"status": "unauthorized"}, 401
    outcome = TWILIO_OUTCOMES.get(params.get("MessageStatus", ""))
    detail = f"Twilio status {params.get('MessageStatus')}"
    if params.get("ErrorCode"):
        detail += f", error {params['ErrorCode']}"
    changed = bool(outcome) and apply_receipt(store.id, "twilio", params.get("MessageSid", ""), outcome, detail)
    # Always 2xx for a verified callback: Twilio retries anything else, and a replay must change nothing.
    return {"status": "updated" if changed else "ignored"}, 200
