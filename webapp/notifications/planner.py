"""Planning: from an event and a store's rules to the messages that should go out.

Pure: takes plain data (rules, recipient, store, order context), returns one PlannedMessage per
channel of the matching rule, each already rendered, or marked skipped / suppressed / failed
with the reason. A failure on one channel never stops the others.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from webapp.consent.policy import CRITICAL, TRANSACTIONAL, decide
from webapp.dispatch.planned import PlannedMessage
from webapp.notifications.rules import RuleKey, RuleState, matching_rule
from webapp.templating.render import TemplateRenderError, render
from webapp.templating.resolve import TemplateMissing, resolve_template

# Which customer field addresses each channel.
ADDRESS_FIELD = {"email": "email", "sms": "phone", "whatsapp": "phone", "push": "push_token", "in_app": "inbox"}
HTML_CHANNELS = {"email"}
# Customers must hear at once that an order will not arrive; the rest is transactional.
CRITICAL_MESSAGE_TYPES = {"order.cancelled", "invoice.cancelled"}

SKIPPED, SUPPRESSED, FAILED = "skipped", "suppressed", "failed"


@dataclass(frozen=True)
class Recipient:
    name: str = ""
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    push_token: str | None = None  # "<platform>:<token>" of the customer's newest app install
    inbox: str | None = None  # "customer:<id>" when the customer is known to the store

    def address(self, channel: str) -> str | None:
        field_name = ADDRESS_FIELD.get(channel)
        return getattr(self, field_name) if field_name else None


@dataclass(frozen=True)
class StoreInfo:
    name: str
    default_locale: str = "en"


@dataclass(frozen=True)
class PlanRequest:
    kind: str  # order or invoice
    status: str
    recipient: Recipient
    store: StoreInfo
    order: Mapping  # number, status, total, currency, lines, tracking
    note: str | None = None
    urgent: bool = False  # staff sends are critical: a person is waiting on them
    suppressions: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (channel, address) -> reason
    templates: Mapping | None = None  # store overrides keyed (message_type, channel, locale)


def message_type(kind: str, status: str) -> str:
    return f"{kind}.{status}"


def priority_for(msg_type: str, urgent: bool = False) -> str:
    return CRITICAL if urgent or msg_type in CRITICAL_MESSAGE_TYPES else TRANSACTIONAL


def plan_for_event(rules: Mapping[RuleKey, RuleState], source: str, request: PlanRequest) -> list[PlannedMessage]:
    """Messages the store's rules call for; none when no active rule matches."""
    rule = matching_rule(rules, request.kind, source, request.status)
    if rule is None:
        return []
    return plan_messages(sorted(rule.channels), request)


def plan_messages(channels: Iterable[str], request: PlanRequest) -> list[PlannedMessage]:
    return [_plan_channel(channel, request) for channel in channels]


def _plan_channel(channel: str, request: PlanRequest) -> PlannedMessage:
    msg_type = message_type(request.kind, request.status)
    priority = priority_for(msg_type, request.urgent)
    address = request.recipient.address(channel)

    def outcome(status: str, error: str, locale: str = "", subject=None, body="") -> PlannedMessage:
        return PlannedMessage(channel, msg_type, priority, locale or (request.recipient.locale or "en"),
                              address or "", subject, body, status, error)

    if not address:
        field_name = ADDRESS_FIELD.get(channel, channel)
        return outcome(SKIPPED, f"customer has no {field_name} for {channel}")
    consent = decide(priority, request.suppressions.get((channel, address)))
    if not consent.allowed:
        return outcome(SUPPRESSED, consent.reason)
    try:
        template = resolve_template(msg_type, channel, request.recipient.locale, request.store.default_locale,
                                    request.templates)
        context = _context(request)
        subject = render(template.subject, context) if template.subject else None
        body = render(template.body, context, html=channel in HTML_CHANNELS)
    except (TemplateMissing, TemplateRenderError) as error:
        return outcome(FAILED, f"template error: {error}")
    return PlannedMessage(channel, msg_type, priority, template.locale, address, subject, body)


def _context(request: PlanRequest) -> dict:
    name = request.recipient.name or ""
    return {
        "store": {"name": request.store.name},
        "customer": {"name": name, "first_name": name.split(" ")[0] if name else "",
                     "email": request.recipient.email, "phone": request.recipient.phone},
        "order": dict(request.order),
        "note": request.note,
    }
