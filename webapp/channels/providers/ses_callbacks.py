"""Amazon SES event publishing through an SNS topic subscribed over HTTPS. The SNS signature is
verified (sns.py), and only topics the store's SES accounts name (setting sns_topic_arn) are
heard: a valid SNS signature proves only that some AWS account sent the message."""
from __future__ import annotations

import logging

from webapp import jsonbody
from webapp.channels.providers import sns
from webapp.channels.providers.callbacks import (
    FORBIDDEN,
    IGNORED,
    CallbackContext,
    CallbackRejected,
    InboundRequest,
    ParsedCallback,
    Receipt,
    ReplayKey,
    Reply,
)

log = logging.getLogger(__name__)
SIMPLE = {"Delivery": ("delivered", lambda e: (e.get("delivery") or {}).get("smtpResponse")),
          "Open": ("opened", lambda e: ""), "Click": ("clicked", lambda e: (e.get("click") or {}).get("link")),
          "DeliveryDelay": ("deferred", lambda e: (e.get("deliveryDelay") or {}).get("delayType")),
          "Reject": ("dropped", lambda e: (e.get("reject") or {}).get("reason"))}


def topic_arns(context: CallbackContext) -> set[str]:
    """The SNS topics the store's SES accounts name (several separated by commas or spaces)."""
    arns: set[str] = set()
    for account in context.accounts:
        arns.update(str(account.settings.get("sns_topic_arn") or "").replace(",", " ").split())
    return arns


class SesCallbacks:
    kinds = ("",)

    def verify(self, request: InboundRequest, context: CallbackContext) -> bool:
        message = request.json()
        try:
            sns.verify(message, context.settings.sns_cert_url_pattern)
        except sns.SNSVerificationError as error:
            log.info("SES callback for store %s rejected: %s", context.store_id, error)
            return False
        if message.get("TopicArn") not in topic_arns(context):
            log.info("SES callback for store %s from topic %s refused", context.store_id, message.get("TopicArn"))
            return False
        return True

    def rejected(self, request: InboundRequest):
        return FORBIDDEN

    def parse(self, request: InboundRequest, context: CallbackContext) -> ParsedCallback:
        message = request.json()
        if message["Type"] == "SubscriptionConfirmation":
            try:
                sns.confirm_subscription(message, context.settings.sns_cert_url_pattern)
            except sns.SNSVerificationError as error:
                log.warning("SNS subscription for store %s not confirmed: %s", context.store_id, error)
                raise CallbackRejected(str(error)) from error
            return ParsedCallback(reply=Reply(200, {"status": "subscribed"}))
        if message["Type"] != "Notification":
            return ParsedCallback(reply=IGNORED)
        replay = (ReplayKey("ses", message["MessageId"]),)
        event = _json(message["Message"])
        receipt = _receipt(event) if isinstance(event, dict) else None
        return ParsedCallback(receipts=(receipt,) if receipt else (), replay_keys=replay)


def _json(text: str):
    try:
        return jsonbody.loads(text)
    except jsonbody.JSONBodyError:
        return None


def _recipients(entries) -> tuple[str, ...]:
    return tuple(str(r.get("emailAddress")) for r in entries or [] if isinstance(r, dict) and r.get("emailAddress"))


def _receipt(event: dict) -> Receipt | None:
    kind = event.get("eventType") or event.get("notificationType")
    message_id = str((event.get("mail") or {}).get("messageId") or "")
    if not message_id:
        return None
    ids = (message_id,)
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        entries = bounce.get("bouncedRecipients") or []
        detail = "; ".join(str(r.get("diagnosticCode") or "") for r in entries
                           if isinstance(r, dict) and r.get("diagnosticCode"))
        detail = detail or f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
        if bounce.get("bounceType") == "Permanent":
            return Receipt(ids, "bounced", detail, reported_recipients=_recipients(entries))
        return Receipt(ids, "deferred", detail)
    if kind == "Complaint":
        complaint = event.get("complaint") or {}
        return Receipt(ids, "complained", str(complaint.get("complaintFeedbackType") or ""),
                       reported_recipients=_recipients(complaint.get("complainedRecipients")))
    simple = SIMPLE.get(kind)
    if simple is None:
        return None
    outcome, detail = simple
    return Receipt(ids, outcome, str(detail(event) or ""))
