"""Planning: from an event and a store's rules to the messages that should go out.

Pure: takes plain data (rules, recipient, store, order context), returns one PlannedMessage per
channel of the matching rule, each already rendered, or marked skipped / suppressed / failed
with the reason. A failure on one channel never stops the others.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from webapp.consent.policy import CRITICAL, MARKETING, TRANSACTIONAL, decide
from webapp.dispatch.planned import PlannedMessage
from webapp.notifications.rules import RuleKey, RuleState, matching_rule
from webapp.templating import catalog
from webapp.templating.context import build_context
from webapp.templating.defaults import direction, unsubscribe_label
from webapp.templating.layout import Branding
from webapp.templating.message import render_message
from webapp.templating.render import TemplateRenderError
from webapp.templating.resolve import TemplateMissing, resolve_template

# Which customer field addresses each channel.
ADDRESS_FIELD = {"email": "email", "sms": "phone", "whatsapp": "phone", "push": "push_token", "in_app": "inbox"}
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
    currency: str = "USD"
    timezone: str = "UTC"
    accent: str | None = None
    logo_url: str | None = None
    address: str | None = None
    url: str | None = None
    support_email: str | None = None

    @property
    def branding(self) -> Branding:
        return Branding(self.name, self.accent or "", self.logo_url, self.address)


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
        rendered = render_message(channel, template.fields, template_context(request, template.locale),
                                  branding=request.store.branding, lang=template.locale,
                                  direction=direction(template.locale), marketing=priority == MARKETING,
                                  unsubscribe_label=unsubscribe_label(template.locale))
    except (TemplateMissing, TemplateRenderError) as error:
        return outcome(FAILED, f"template error: {error}")
    except Exception as error:  # noqa: BLE001 - one bad template fails its own message, never the event
        return outcome(FAILED, f"template error: {type(error).__name__}: {str(error)[:200]}")
    return PlannedMessage(channel, msg_type, priority, template.locale, address, rendered.subject or None,
                          rendered.body, template=template.describe(), text=rendered.text,
                          link=_safe_link(rendered.link))


def _safe_link(link: str | None) -> str | None:
    """A rendered link the customer's app may open: http(s) or an app's own scheme, one line, not
    javascript: or data:; anything else is dropped rather than sent."""
    link = (link or "").strip()
    if not link or len(link) > 2000 or any(c.isspace() for c in link):
        return None
    scheme = link.split(":", 1)[0].lower() if ":" in link else ""
    return None if scheme in ("", "javascript", "data", "vbscript", "file") else link


def template_context(request: PlanRequest, locale: str) -> dict:
    """The render context of this request's message type (see templating/context.py)."""
    message_type = catalog.get(message_type_of(request)) or catalog.get("order.ready")
    store = request.store
    data = {
        "store": {"name": store.name, "url": store.url, "support_email": store.support_email},
        "customer": {"name": request.recipient.name or None, "email": request.recipient.email,
                     "phone": request.recipient.phone},
        "order": dict(request.order),
        "note": request.note,
    }
    currency = request.order.get("currency") or store.currency
    return build_context(message_type, data, locale=locale, currency=currency, timezone=store.timezone)


def message_type_of(request: PlanRequest) -> str:
    return message_type(request.kind, request.status)
