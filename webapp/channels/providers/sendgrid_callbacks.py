"""SendGrid's Event Webhook: a JSON array of events, signed with ECDSA over timestamp + raw body with
the account's verification key (setting event_webhook_public_key)."""
from __future__ import annotations

import logging

from sendgrid.helpers.eventwebhook import EventWebhook

from webapp.channels.providers.callbacks import (
    FORBIDDEN,
    IGNORED,
    CallbackContext,
    InboundRequest,
    ParsedCallback,
    Receipt,
    ReplayKey,
    echoed_notification_id,
    fresh,
)

log = logging.getLogger(__name__)
EVENTS = {"delivered": "delivered", "dropped": "dropped", "deferred": "deferred", "spamreport": "complained",
          "open": "opened", "click": "clicked", "unsubscribe": "unsubscribed", "group_unsubscribe": "unsubscribed"}


def bare_public_key(value) -> str:
    """The base64 key as SendGrid shows it, also when pasted as PEM or wrapped over several lines."""
    lines = str(value or "").strip().splitlines()
    return "".join(line.strip() for line in lines if line.strip() and not line.strip().startswith("-----"))


class SendGridCallbacks:
    kinds = ("events",)

    def verify(self, request: InboundRequest, context: CallbackContext) -> bool:
        signature = request.header("X-Twilio-Email-Event-Webhook-Signature")
        timestamp = request.header("X-Twilio-Email-Event-Webhook-Timestamp")
        if not signature or not fresh(timestamp):
            return False
        webhook = EventWebhook()
        for account in context.accounts:
            key = bare_public_key(account.settings.get("event_webhook_public_key"))
            if not key:
                continue
            try:
                if webhook.verify_signature(request.text, signature, timestamp,
                                            webhook.convert_public_key_to_ecdsa(key)):
                    return True
            except Exception:  # a malformed key or signature is simply not a valid one
                log.info("SendGrid event webhook: unusable key or signature for store %s", context.store_id)
        return False

    def rejected(self, request: InboundRequest):
        return FORBIDDEN

    def parse(self, request: InboundRequest, context: CallbackContext) -> ParsedCallback:
        events = request.json()
        if not isinstance(events, list):
            return ParsedCallback(reply=IGNORED)
        receipts = []
        for event in events:
            if not isinstance(event, dict):
                continue
            outcome, detail = _outcome(event)
            # sg_message_id is the X-Message-Id we stored, followed by ".filter…"; custom_args echo notification_id.
            message_id = str(event.get("sg_message_id") or "").split(".", 1)[0]
            notification_id = echoed_notification_id(event.get("notification_id"))
            if not outcome or not (message_id or notification_id):
                continue
            event_id = str(event.get("sg_event_id") or "")
            receipts.append(Receipt((message_id,), outcome, detail, notification_id,
                                    replay_key=ReplayKey("sendgrid", event_id) if event_id else None))
        return ParsedCallback(receipts=tuple(receipts))


def _outcome(event: dict) -> tuple[str | None, str]:
    name = event.get("event")
    if name == "bounce":
        kind = event.get("type") or "bounce"
        detail = str(event.get("reason") or event.get("status") or "")
        return ("blocked" if kind == "blocked" else "bounced"), detail
    detail = {"click": event.get("url"), "dropped": event.get("reason"), "deferred": event.get("response"),
              "delivered": event.get("response")}.get(name) or ""
    return EVENTS.get(name), str(detail)
