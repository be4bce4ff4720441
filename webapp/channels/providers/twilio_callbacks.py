"""Twilio's requests to us: StatusCallback receipts (/status) and inbound SMS / WhatsApp (/inbound),
each signed with X-Twilio-Signature over the URL and form parameters with an account's auth token."""
from __future__ import annotations

from twilio.request_validator import RequestValidator

from webapp.channels.providers.callbacks import (
    CallbackContext,
    ConsentSignal,
    InboundRequest,
    ParsedCallback,
    Receipt,
    ReplayKey,
    Reply,
)
from webapp.consent import keywords
from webapp.consent.actions import HELP

OUTCOMES = {"delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}
TWIML = "text/xml; charset=utf-8"


class TwilioCallbacks:
    kinds = ("status", "inbound")

    def verify(self, request: InboundRequest, context: CallbackContext) -> bool:
        signature = request.header("X-Twilio-Signature")
        params = dict(request.form)
        return bool(signature) and any(RequestValidator(token).validate(request.url, params, signature)
                                       for token in (a.value("auth_token") for a in context.accounts) if token)

    def rejected(self, request: InboundRequest) -> Reply:
        if request.kind == "inbound":
            return Reply(401, keywords.twiml(), TWIML)
        return Reply(401, {"status": "unauthorized"})

    def parse(self, request: InboundRequest, context: CallbackContext) -> ParsedCallback:
        return _inbound(request.form, context) if request.kind == "inbound" else _status(request.form)


def _status(params) -> ParsedCallback:
    # Always 2xx for a verified callback: Twilio retries anything else, and a replay must change nothing.
    outcome = OUTCOMES.get(params.get("MessageStatus", ""))
    if not outcome:
        return ParsedCallback()
    detail = f"Twilio status {params.get('MessageStatus')}"
    if params.get("ErrorCode"):
        detail += f", error {params['ErrorCode']}"
    return ParsedCallback(receipts=(Receipt((params.get("MessageSid", ""),), outcome, detail),))


def _inbound(params, context: CallbackContext) -> ParsedCallback:
    """Twilio answers its own STOP and START keywords with its standard confirmation, so those get an
    empty response (only a keyword Twilio let through, such as "stop please", gets ours); HELP gets
    the store's help text. A replay answers the same and records nothing again."""
    body, opt_out_type = params.get("Body", ""), params.get("OptOutType")
    action = keywords.classify_inbound(body, opt_out_type)
    channel, address = keywords.sender(params.get("From"))
    if action == HELP:  # Advanced Opt-Out (OptOutType) sends the help text configured at Twilio itself
        reply = None if opt_out_type else keywords.help_text(context.store_name, context.sms_help_text)
    elif action is not None and not keywords.answered_by_twilio(body, opt_out_type):
        reply = keywords.confirmation(action, context.store_name)  # "stop please": Twilio neither blocks nor confirms
    else:
        reply = None
    answer = Reply(200, keywords.twiml(reply if address else None), TWIML)
    if action is None or not address:
        return ParsedCallback(reply=answer)
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
    signal = ConsentSignal(channel, address, action, keywords.keyword(body), "twilio inbound",
                           ReplayKey("twilio-inbound", sid) if sid else None)
    return ParsedCallback(consent=(signal,), reply=answer)
