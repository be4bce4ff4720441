"""Provider callbacks: delivery receipts, email events and inbound SMS. Each is verified with the
provider's own signature scheme against the store's credentials before anything is read from it.

Common rules: an unknown store is a 404; an unverified request is a 401/403 and writes nothing; a
verified callback about an unknown message is a 200 {"status": "ignored"} (providers retry anything
else); replays are recognised by the provider's event id (ProcessedCallback) and change nothing; each
request is one transaction."""
from __future__ import annotations

import hmac
import json
import logging
import time
from hashlib import sha256

from flask import Blueprint, Response, request
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from webapp.consent import keywords
from webapp.consent.models import HELP, OPT_IN, OPT_OUT
from webapp.consent.suppression import first_seen, record, release_opt_out, suppress
from webapp.crypto import vault
from webapp.extensions import db
from webapp.notifications import sns
from webapp.notifications.models import ProviderConfig
from webapp.notifications.receipts import apply_receipt, echoed_notification_id
from webapp.views import store_from_url_or_404

log = logging.getLogger(__name__)
bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")
TWILIO_OUTCOMES = {"delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}
MAX_AGE_SECONDS = 600


def _configs(store_id: int, provider: str) -> list[ProviderConfig]:
    return list(db.session.scalars(select(ProviderConfig).where(ProviderConfig.store_id == store_id,
                                                                ProviderConfig.provider == provider)))


def _secrets(row: ProviderConfig) -> dict:
    return json.loads(vault().decrypt(row.secrets_encrypted)) if row.secrets_encrypted else {}


def _twilio_tokens(store_id: int) -> list[str]:
    return [_secrets(row).get("auth_token", "") for row in _configs(store_id, "twilio") if row.secrets_encrypted]


def _twilio_verified(store_id: int) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    params = request.form.to_dict()
    return bool(signature) and any(RequestValidator(token).validate(request.url, params, signature)
                                   for token in _twilio_tokens(store_id) if token)


def _fresh(timestamp: str | None) -> bool:
    try:
        return abs(time.time() - int(timestamp or "")) <= MAX_AGE_SECONDS
    except ValueError:
        return False


def _result(changed: int):
    return {"status": "updated" if changed else "ignored"}, 200


@bp.post("/twilio/<store_slug>/status")
def twilio_status(store_slug: str):
    """Twilio's StatusCallback; signed with X-Twilio-Signature over the URL and form parameters."""
    store = store_from_url_or_404(store_slug)
    if not _twilio_verified(store.id):
        return {"status": "unauthorized"}, 401
    params = request.form.to_dict()
    outcome = TWILIO_OUTCOMES.get(params.get("MessageStatus", ""))
    detail = f"Twilio status {params.get('MessageStatus')}"
    if params.get("ErrorCode"):
        detail += f", error {params['ErrorCode']}"
    changed = bool(outcome) and apply_receipt(store.id, "twilio", params.get("MessageSid", ""), outcome, detail)
    # Always 2xx for a verified callback: Twilio retries anything else, and a replay must change nothing.
    return _result(changed)


# --- Twilio inbound SMS / WhatsApp: STOP, START, HELP ------------------------------------------------------


def _twiml(message: str | None = None) -> Response:
    return Response(keywords.twiml(message), status=200, content_type="text/xml; charset=utf-8")


@bp.post("/twilio/<store_slug>/inbound")
def twilio_inbound(store_slug: str):
    """An incoming message to the store's number. Twilio answers its own STOP and START keywords with its
    standard confirmation, so those get an empty response (only a keyword Twilio let through, such as
    "stop please", gets our confirmation); HELP gets the store's help text."""
    store = store_from_url_or_404(store_slug)
    if not _twilio_verified(store.id):
        return Response(keywords.twiml(), status=401, content_type="text/xml; charset=utf-8")
    params = request.form.to_dict()
    body, opt_out_type = params.get("Body", ""), params.get("OptOutType")
    action = keywords.classify_inbound(body, opt_out_type)
    channel, address = keywords.sender(params.get("From"))
    if action == HELP:  # Advanced Opt-Out (OptOutType) sends the help text configured at Twilio itself
        reply = None if opt_out_type else keywords.help_text(store.name, store.sms_help_text)
    elif action is not None and not keywords.answered_by_twilio(body, opt_out_type):
        reply = keywords.confirmation(action, store.name)  # "stop please": Twilio neither blocks nor confirms
    else:
        reply = None
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
    if action is None or not address or not first_seen(store.id, "twilio-inbound", sid):
        db.session.rollback()
        return _twiml(reply if address else None)  # a replay answers the same and records nothing again
    word = keywords.keyword(body)
    source = "twilio inbound"
    if action == OPT_OUT:
        suppress(store.id, channel, address, OPT_OUT, keywords.OPT_OUT_REASON, source, word)
    elif action == OPT_IN:
        release_opt_out(store.id, channel, address, source, word)
    else:
        record(store.id, channel, address, HELP, source, word)
    db.session.commit()
    return _twiml(reply)


# --- SendGrid Event Webhook ----------------------------------------------------------------------------------

SENDGRID_EVENTS = {"delivered": "delivered", "dropped": "dropped", "deferred": "deferred", "spamreport": "complained",
                   "open": "opened", "click": "clicked", "unsubscribe": "unsubscribed",
                   "group_unsubscribe": "unsubscribed"}


def _bare_public_key(value) -> str:
    """The base64 key as SendGrid shows it, also when pasted as PEM or wrapped over several lines."""
    lines = str(value or "").strip().splitlines()
    return "".join(line.strip() for line in lines if line.strip() and not line.strip().startswith("-----"))


def _sendgrid_verified(store_id: int, payload: str) -> bool:
    from sendgrid.helpers.eventwebhook import EventWebhook

    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    if not signature or not _fresh(timestamp):
        return False
    webhook = EventWebhook()
    for row in _configs(store_id, "sendgrid"):
        key = _bare_public_key((row.settings or {}).get("event_webhook_public_key"))
        if not key:
            continue
        try:
            if webhook.verify_signature(payload, signature, timestamp, webhook.convert_public_key_to_ecdsa(key)):
                return True
        except Exception:  # a malformed key or signature is simply not a valid one
            log.info("SendGrid event webhook: unusable key or signature for store %s", store_id)
    return False


def _sendgrid_outcome(event: dict) -> tuple[str | None, str]:
    name = event.get("event")
    if name == "bounce":
        kind = event.get("type") or "bounce"
        detail = str(event.get("reason") or event.get("status") or "")
        return ("blocked" if kind == "blocked" else "bounced"), detail
    detail = {"click": event.get("url"), "dropped": event.get("reason"), "deferred": event.get("response"),
              "delivered": event.get("response")}.get(name) or ""
    return SENDGRID_EVENTS.get(name), str(detail)


@bp.post("/sendgrid/<store_slug>/events")
def sendgrid_events(store_slug: str):
    """SendGrid's Event Webhook: a JSON array of events, signed with ECDSA over timestamp + raw body."""
    store = store_from_url_or_404(store_slug)
    payload = request.get_data(as_text=True)
    if not _sendgrid_verified(store.id, payload):
        return {"status": "forbidden"}, 403
    try:
        events = json.loads(payload)
    except ValueError:
        return {"status": "ignored"}, 200
    changed = 0
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        outcome, detail = _sendgrid_outcome(event)
        # sg_message_id is the X-Message-Id we stored, followed by ".filter…"; custom_args echo notification_id.
        message_id = str(event.get("sg_message_id") or "").split(".", 1)[0]
        notification_id = echoed_notification_id(event.get("notification_id"))
        if not outcome or not (message_id or notification_id) or not first_seen(
                store.id, "sendgrid", str(event.get("sg_event_id") or "")):
            continue
        changed += apply_receipt(store.id, "sendgrid", message_id, outcome, detail, commit=False,
                                 notification_id=notification_id)
    db.session.commit()
    return _result(changed)


# --- Mailgun webhooks ----------------------------------------------------------------------------------------


def _mailgun_verified(store_id: int, signature: dict) -> bool:
    timestamp, token, digest = (str(signature.get(k) or "") for k in ("timestamp", "token", "signature"))
    if not (token and digest and _fresh(timestamp)):
        return False
    for row in _configs(store_id, "mailgun"):
        key = _secrets(row).get("webhook_signing_key", "")
        if key and hmac.compare_digest(hmac.new(key.encode(), (timestamp + token).encode(), sha256).hexdigest(),
                                       digest):
            return True
    return False


def _mailgun_outcome(data: dict) -> str | None:
    event = data.get("event")
    if event == "failed":
        return "bounced" if data.get("severity") == "permanent" else "deferred"
    return {"delivered": "delivered", "complained": "complained", "opened": "opened", "clicked": "clicked",
            "unsubscribed": "unsubscribed"}.get(event)


@bp.post("/mailgun/<store_slug>")
def mailgun_event(store_slug: str):
    """Mailgun's webhooks: JSON with a signature (HMAC-SHA256 of timestamp + token) and event-data."""
    store = store_from_url_or_404(store_slug)
    body = request.get_json(silent=True)
    signature = body.get("signature") if isinstance(body, dict) else None
    if not isinstance(signature, dict) or not _mailgun_verified(store.id, signature):
        return {"status": "forbidden"}, 403
    data = body.get("event-data") if isinstance(body.get("event-data"), dict) else {}
    # A replayed token is refused; a retried event (Mailgun signs each attempt anew) is known by its id.
    if not (first_seen(store.id, "mailgun", str(signature.get("token")))
            and first_seen(store.id, "mailgun-event", str(data.get("id") or ""))):
        db.session.rollback()
        return {"status": "ignored"}, 200
    outcome = _mailgun_outcome(data)
    headers = (data.get("message") or {}).get("headers") or {}
    message_id = str(headers.get("message-id") or "").strip().strip("<>")
    status = data.get("delivery-status") or {}
    detail = str(status.get("description") or status.get("message") or data.get("reason") or data.get("url") or "")
    variables = data.get("user-variables") if isinstance(data.get("user-variables"), dict) else {}
    changed = bool(outcome and message_id) and apply_receipt(
        store.id, "mailgun", [f"<{message_id}>", message_id], outcome, detail, commit=False,
        notification_id=echoed_notification_id(variables.get("notification_id")))
    db.session.commit()
    return _result(changed)


# --- Amazon SES events via SNS -------------------------------------------------------------------------------


def _ses_receipts(store_id: int, event: dict) -> int:
    kind = event.get("eventType") or event.get("notificationType")
    message_id = str((event.get("mail") or {}).get("messageId") or "")
    if not message_id:
        return 0
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        recipients = [r.get("emailAddress") for r in bounce.get("bouncedRecipients") or [] if isinstance(r, dict)]
        detail = "; ".join(str(r.get("diagnosticCode") or "") for r in bounce.get("bouncedRecipients") or []
                           if isinstance(r, dict) and r.get("diagnosticCode"))
        detail = detail or f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
        if bounce.get("bounceType") == "Permanent":
            return apply_receipt(store_id, "ses", message_id, "bounced", detail, commit=False,
                                 suppress_addresses=_match_recipients(store_id, message_id, recipients))
        return apply_receipt(store_id, "ses", message_id, "deferred", detail, commit=False)
    if kind == "Complaint":
        complaint = event.get("complaint") or {}
        recipients = [r.get("emailAddress") for r in complaint.get("complainedRecipients") or []
                      if isinstance(r, dict)]
        return apply_receipt(store_id, "ses", message_id, "complained",
                             str(complaint.get("complaintFeedbackType") or ""), commit=False,
                             suppress_addresses=_match_recipients(store_id, message_id, recipients))
    simple = {"Delivery": ("delivered", lambda e: (e.get("delivery") or {}).get("smtpResponse")),
              "Open": ("opened", lambda e: ""), "Click": ("clicked", lambda e: (e.get("click") or {}).get("link")),
              "DeliveryDelay": ("deferred", lambda e: (e.get("deliveryDelay") or {}).get("delayType")),
              "Reject": ("dropped", lambda e: (e.get("reject") or {}).get("reason"))}.get(kind)
    if simple is None:
        return 0
    outcome, detail = simple
    return apply_receipt(store_id, "ses", message_id, outcome, str(detail(event) or ""), commit=False)


def _match_recipients(store_id: int, message_id: str, recipients: list) -> list[str]:
    """Of the bounced / complained addresses, only the notification's own recipient: an event may not
    suppress addresses the store never sent that message to."""
    from webapp.notifications.receipts import find_notification

    row = find_notification(store_id, "ses", message_id)
    own = row.recipient if row else ""
    return [own] if own and any(str(r).lower() == own.lower() for r in recipients if r) else []


def _ses_topic_arns(store_id: int) -> set[str]:
    """The SNS topics the store's SES configs name (setting sns_topic_arn, several separated by commas or
    spaces). Only those topics are confirmed and heard: a valid SNS signature proves only that some
    AWS account sent the message."""
    arns: set[str] = set()
    for row in _configs(store_id, "ses"):
        arns.update(str((row.settings or {}).get("sns_topic_arn") or "").replace(",", " ").split())
    return arns


@bp.post("/ses/<store_slug>")
def ses_event(store_slug: str):
    """SES event publishing through an SNS topic subscribed over HTTPS; the SNS signature is verified."""
    store = store_from_url_or_404(store_slug)
    try:
        message = json.loads(request.get_data(as_text=True))
        sns.verify(message)
    except (ValueError, sns.SNSVerificationError) as error:
        log.info("SES callback for store %s rejected: %s", store.id, error)
        return {"status": "forbidden"}, 403
    if message.get("TopicArn") not in _ses_topic_arns(store.id):
        log.info("SES callback for store %s from topic %s refused", store.id, message.get("TopicArn"))
        return {"status": "forbidden"}, 403
    if message["Type"] == "SubscriptionConfirmation":
        try:
            sns.confirm_subscription(message)
        except sns.SNSVerificationError as error:
            log.warning("SNS subscription for store %s not confirmed: %s", store.id, error)
            return {"status": "forbidden"}, 403
        return {"status": "subscribed"}, 200
    if message["Type"] != "Notification" or not first_seen(store.id, "ses", message["MessageId"]):
        db.session.rollback()
        return {"status": "ignored"}, 200
    try:
        event = json.loads(message["Message"])
    except ValueError:
        event = None
    changed = _ses_receipts(store.id, event) if isinstance(event, dict) else 0
    db.session.commit()
    return _result(changed)
