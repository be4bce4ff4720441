"""Planning: from an event and a store's rules to the messages that should go out.

Pure: takes plain data (rules or a route, recipient, store, order context), returns one
PlannedMessage per channel, each already rendered, or marked skipped / suppressed / failed with
the reason. A failure on one channel never stops the others.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from webapp.consent.policy import CRITICAL, MARKETING, TRANSACTIONAL, decide
from webapp.consent.vocabulary import topic_of
from webapp.dispatch.planned import PlannedMessage
from webapp.notifications.routing import Route, pick_channels
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

SKIPPED, SUPPRESSED, FAILED = "skipped", "suppressed", "failed"


@dataclass(frozen=True)
class Recipient:
    name: str = ""
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    push_token: str | None = None  # "<platform>:<token>" of the customer's newest app install
    inbox: str | None = None  # "customer:<id>" when the customer is known to the store
    customer_id: int | None = None
    timezone: str | None = None  # IANA name; None: the store's
    consent: Mapping[str, str] = field(default_factory=dict)  # channel -> opted_in / opted_out (absent: never asked)
    muted_topics: frozenset[str] = frozenset()

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
    kind: str  # order or invoice; "" for a message that is not an order status
    status: str
    recipient: Recipient
    store: StoreInfo
    order: Mapping = field(default_factory=dict)  # number, status, total, currency, lines, tracking
    note: str | None = None
    urgent: bool = False  # staff sends are critical: a person is waiting on them
    suppressions: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (channel, address) -> reason
    templates: Mapping | None = None  # store overrides keyed (message_type, channel, locale)
    message_type: str | None = None  # any catalog type (payment.failed, account.password_reset); default kind.status
    data: Mapping = field(default_factory=dict)  # the type's own variables: {"reset": {"url": ...}}
    # Marketing email: the links its unsubscribe headers and footer carry (consent.links).
    unsubscribe: Mapping[str, str] = field(default_factory=dict)  # one_click, mailto, preferences


def message_type(kind: str, status: str) -> str:
    return f"{kind}.{status}"


def priority_for(msg_type: str, urgent: bool = False) -> str:
    """The type's class from the catalog (password reset critical, payment transactional, campaigns
    marketing); staff sends are always critical."""
    if urgent:
        return CRITICAL
    known = catalog.get(msg_type)
    return known.priority if known else TRANSACTIONAL


def plan_for_event(rules: Mapping[RuleKey, RuleState], source: str, request: PlanRequest) -> list[PlannedMessage]:
    """Messages the store's rules call for; none when no active rule matches."""
    rule = matching_rule(rules, request.kind, source, request.status)
    if rule is None:
        return []
    return plan_messages(sorted(rule.channels), request)


def plan_routed(route: Route, request: PlanRequest) -> list[PlannedMessage]:
    """Messages a route calls for: all its channels, or the first that can reach the customer."""
    def obstacle(channel: str) -> str | None:
        found = _obstacle(channel, request)
        return found[1] if found else None

    return plan_messages(pick_channels(route, obstacle), request)


def plan_messages(channels: Iterable[str], request: PlanRequest) -> list[PlannedMessage]:
    return [_plan_channel(channel, request) for channel in channels]


def _obstacle(channel: str, request: PlanRequest) -> tuple[str, str] | None:
    """(SKIPPED or SUPPRESSED, why) when this channel may not carry the message; None when it may."""
    msg_type = message_type_of(request)
    recipient = request.recipient
    address = recipient.address(channel)
    if not address:
        return SKIPPED, f"customer has no {ADDRESS_FIELD.get(channel, channel)} for {channel}"
    consent = decide(priority_for(msg_type, request.urgent), channel, request.suppressions.get((channel, address)),
                     recipient.consent.get(channel), topic_of(msg_type), recipient.muted_topics)
    return None if consent.allowed else (SUPPRESSED, consent.reason)


def _plan_channel(channel: str, request: PlanRequest) -> PlannedMessage:
    msg_type = message_type_of(request)
    priority = priority_for(msg_type, request.urgent)
    address = request.recipient.address(channel)

    def outcome(status: str, error: str, locale: str = "", subject=None, body="") -> PlannedMessage:
        return PlannedMessage(channel, msg_type, priority, locale or (request.recipient.locale or "en"),
                              address or "", subject, body, status, error)

    blocked = _obstacle(channel, request)
    if blocked:
        return outcome(*blocked)
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
                          link=_safe_link(rendered.link), headers=_headers(channel, priority, request))


def _headers(channel: str, priority: str, request: PlanRequest) -> dict[str, str] | None:
    """RFC 8058 one-click unsubscribe on marketing email (Gmail and Yahoo require it of bulk senders)."""
    links = request.unsubscribe
    if channel != "email" or priority != MARKETING or not links.get("one_click"):
        return None
    targets = [f"<{links['one_click']}>"] + ([f"<{links['mailto']}>"] if links.get("mailto") else [])
    return {"List-Unsubscribe": ", ".join(targets), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


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
        **request.data,
    }
    if request.unsubscribe.get("preferences"):  # the footer link opens the preference centre
        data["unsubscribe_url"] = request.unsubscribe["preferences"]
    currency = request.order.get("currency") or store.currency
    return build_context(message_type, data, locale=locale, currency=currency, timezone=store.timezone)


def message_type_of(request: PlanRequest) -> str:
    return request.message_type or message_type(request.kind, request.status)
