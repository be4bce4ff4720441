"""360dialog's WhatsApp webhook: message statuses and inbound messages in one endpoint.

360dialog does not sign a number's webhook; it sends the headers set with the webhook URL
(POST /v1/configs/webhook {"url", "headers"}), which its documentation offers for authorising
the calls. So the merchant sets a random token as the X-Webhook-Token header there and the same
token here (field webhook_token); a request without it is refused. Both payload shapes are read:
the Cloud API's (entry[].changes[].value.statuses / .messages) and On-Premise's (top-level
statuses / messages).
"""
from __future__ import annotations

from webapp.channels.providers.callbacks import (
    FORBIDDEN,
    CallbackContext,
    ConsentSignal,
    InboundRequest,
    ParsedCallback,
    Receipt,
    ReplayKey,
    keyword_signal,
    same_secret,
)

WEBHOOK_HEADER = "X-Webhook-Token"
# "sent" only repeats what the API answered; "read" is shown on the timeline like an email open.
OUTCOMES = {"delivered": "delivered", "read": "opened", "failed": "failed"}


def values_of(payload) -> list[dict]:
    """The `value` objects carrying statuses / messages, in either payload shape."""
    if not isinstance(payload, dict):
        return []
    if isinstance(payload.get("entry"), list):
        return [change.get("value") for entry in payload["entry"] if isinstance(entry, dict)
                for change in entry.get("changes") or [] if isinstance(change, dict)
                and isinstance(change.get("value"), dict)]
    return [payload]


class Dialog360Callbacks:
    kinds = ("",)

    def verify(self, request: InboundRequest, context: CallbackContext) -> bool:
        given = request.header(WEBHOOK_HEADER)
        return bool(given) and any(same_secret(given, a.value("webhook_token")) for a in context.accounts)

    def rejected(self, request: InboundRequest):
        return FORBIDDEN

    def parse(self, request: InboundRequest, context: CallbackContext) -> ParsedCallback:
        receipts, consent = [], []
        for value in values_of(request.json()):
            receipts += [r for r in map(_receipt, value.get("statuses") or []) if r]
            consent += [s for s in map(_inbound, value.get("messages") or []) if s]
        return ParsedCallback(receipts=tuple(receipts), consent=tuple(consent))


def _receipt(status) -> Receipt | None:
    if not isinstance(status, dict):
        return None
    name, message_id = str(status.get("status") or "").lower(), str(status.get("id") or "")
    outcome = OUTCOMES.get(name)
    if not (outcome and message_id):
        return None
    errors = [e for e in status.get("errors") or [] if isinstance(e, dict)]
    detail = f"360dialog status {name}" + "".join(
        f", error {e.get('code')} ({e.get('title') or e.get('message') or ''})" for e in errors[:1])
    return Receipt((message_id,), outcome, detail, replay_key=ReplayKey("360dialog-status", f"{message_id}:{name}"))


def _text(message: dict) -> str:
    kind = message.get("type")
    if kind == "text":
        return str((message.get("text") or {}).get("body") or "")
    if kind == "button":  # a quick-reply button of a template message
        return str((message.get("button") or {}).get("text") or "")
    if kind == "interactive":
        reply = (message.get("interactive") or {})
        chosen = reply.get("button_reply") or reply.get("list_reply") or {}
        return str(chosen.get("title") or "")
    return ""


def _inbound(message) -> ConsentSignal | None:
    if not isinstance(message, dict):
        return None
    return keyword_signal("whatsapp", str(message.get("from") or ""), _text(message), "360dialog inbound",
                          str(message.get("id") or ""), "360dialog-inbound")
