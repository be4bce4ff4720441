"""Mailgun's webhooks: JSON with a signature (HMAC-SHA256 of timestamp + token with the account's
webhook signing key) and event-data."""
from __future__ import annotations

import hashlib
import hmac

from webapp.channels.providers.callbacks import (
    FORBIDDEN,
    CallbackContext,
    InboundRequest,
    ParsedCallback,
    Receipt,
    ReplayKey,
    echoed_notification_id,
    fresh,
)

SIMPLE = {"delivered": "delivered", "complained": "complained", "opened": "opened", "clicked": "clicked",
          "unsubscribed": "unsubscribed"}


def _signature(request: InboundRequest) -> dict | None:
    body = request.json()
    signature = body.get("signature") if isinstance(body, dict) else None
    return signature if isinstance(signature, dict) else None


class MailgunCallbacks:
    kinds = ("",)

    def verify(self, request: InboundRequest, context: CallbackContext) -> bool:
        signature = _signature(request) or {}
        timestamp, token, digest = (str(signature.get(k) or "") for k in ("timestamp", "token", "signature"))
        if not (token and digest and fresh(timestamp)):
            return False
        for account in context.accounts:
            key = account.value("webhook_signing_key")
            expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
            if key and hmac.compare_digest(expected, digest):
                return True
        return False

    def rejected(self, request: InboundRequest):
        return FORBIDDEN

    def parse(self, request: InboundRequest, context: CallbackContext) -> ParsedCallback:
        body = request.json()
        data = body.get("event-data") if isinstance(body.get("event-data"), dict) else {}
        # A replayed token is refused; a retried event (Mailgun signs each attempt anew) is known by its id.
        replay = (ReplayKey("mailgun", str(body["signature"].get("token"))),
                  ReplayKey("mailgun-event", str(data.get("id") or "")))
        outcome = _outcome(data)
        headers = (data.get("message") or {}).get("headers") or {}
        message_id = str(headers.get("message-id") or "").strip().strip("<>")
        if not (outcome and message_id):
            return ParsedCallback(replay_keys=replay)
        status = data.get("delivery-status") or {}
        detail = str(status.get("description") or status.get("message") or data.get("reason") or data.get("url") or "")
        variables = data.get("user-variables") if isinstance(data.get("user-variables"), dict) else {}
        receipt = Receipt((f"<{message_id}>", message_id), outcome, detail,
                          echoed_notification_id(variables.get("notification_id")))
        return ParsedCallback(receipts=(receipt,), replay_keys=replay)


def _outcome(data: dict) -> str | None:
    if data.get("event") == "failed":
        return "bounced" if data.get("severity") == "permanent" else "deferred"
    return SIMPLE.get(data.get("event"))
