"""Who a segment reaches on a channel, read from the live customer list when asked (the editor's
count, and a send when it starts), never from a copy.

A customer in the segment is reachable when they have an address on the channel, the address is
not suppressed, and the consent policy allows marketing there (opted in on that very channel, the
campaign topic left on): the same `consent.policy.decide` planning and the send-time gate use, so the
count the editor shows is the rule the send applies. Email and SMS/WhatsApp only: push campaigns
would need the device list too.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal

from sqlalchemy import func, select

from webapp.campaigns.segment_rules import (
    ENGAGEMENT_FIELDS,
    NUMBER_FIELDS,
    Condition,
    Profile,
    matches,
)
from webapp.consent.models import ChannelSuppression, CustomerConsent
from webapp.consent.policy import MARKETING, decide
from webapp.consent.vocabulary import topic_of
from webapp.customers.gdpr import erased_address
from webapp.customers.models import Customer
from webapp.dispatch.models import Notification, NotificationEvent
from webapp.extensions import db
from webapp.orders.models import Order

ADDRESS_COLUMN = {"email": Customer.email, "sms": Customer.phone, "whatsapp": Customer.phone}
CHANNELS = tuple(ADDRESS_COLUMN)
TOPIC = topic_of("campaign.message")
# Why a customer of the segment is not reached, in the order they are checked.
NO_ADDRESS, SUPPRESSED, NOT_OPTED_IN, TOPIC_OFF = "no_address", "suppressed", "not_opted_in", "topic_off"
EXCLUSIONS = (NO_ADDRESS, SUPPRESSED, NOT_OPTED_IN, TOPIC_OFF)
EXCLUSION_LABELS = {NO_ADDRESS: "no address", SUPPRESSED: "suppressed", NOT_OPTED_IN: "not opted in",
                    TOPIC_OFF: "turned campaigns off"}
PAGE = 5000
ORDER_FIELDS = frozenset((*NUMBER_FIELDS, "last_order_at"))


@dataclass(frozen=True)
class Member:
    """A customer of the segment and whether the channel reaches them."""

    customer_id: int
    address: str | None
    locale: str
    timezone: str | None
    name: str
    excluded: str | None  # one of EXCLUSIONS, None when reachable


@dataclass
class Reach:
    matched: int = 0
    reachable: int = 0
    excluded: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"matched": self.matched, "reachable": self.reachable,
                "excluded": {reason: self.excluded.get(reason, 0) for reason in EXCLUSIONS}}


def reach(store_id: int, match: str, conditions: list[Condition], channel: str) -> Reach:
    counted = Reach()
    for member in members(store_id, match, conditions, channel):
        counted.matched += 1
        if member.excluded:
            counted.excluded[member.excluded] += 1
        else:
            counted.reachable += 1
    return counted


def members(store_id: int, match: str, conditions: list[Condition], channel: str) -> Iterator[Member]:
    """Every customer of the segment, in id order, with why the channel does not reach them (if so)."""
    if channel not in ADDRESS_COLUMN:
        raise ValueError(f"campaigns go out by {', '.join(CHANNELS)}, not {channel}")
    with_orders = any(condition.field in ORDER_FIELDS for condition in conditions)
    with_engagement = any(condition.field in ENGAGEMENT_FIELDS for condition in conditions)
    suppressed = _suppressed(store_id, channel)
    after = 0
    while True:
        rows = _customers(store_id, channel, after)
        if not rows:
            return
        after = rows[-1].id
        stats = _order_stats(store_id, rows[0].id, after) if with_orders else {}
        engaged = _engagement(store_id, rows[0].id, after) if with_engagement else {}
        in_segment = [row for row in rows
                      if matches(match, conditions, _profile(row, stats.get(row.id), engaged.get(row.id)))]
        consent = _consent(store_id, channel, in_segment)
        for row in in_segment:
            blocked = bool(row.address) and _is_suppressed(store_id, channel, row.address, suppressed)
            yield Member(row.id, row.address, row.locale or "en", row.timezone, row.name or "",
                         _exclusion(channel, row, consent.get(row.id), blocked))


def _customers(store_id: int, channel: str, after: int) -> list:
    return db.session.execute(
        select(Customer.id, Customer.name, ADDRESS_COLUMN[channel].label("address"), Customer.locale,
               Customer.timezone, Customer.country, Customer.groups, Customer.tags, Customer.muted_topics)
        .where(Customer.store_id == store_id, Customer.erased_at.is_(None), Customer.id > after)
        .order_by(Customer.id).limit(PAGE)).all()


def _order_stats(store_id: int, first: int, last: int) -> dict[int, tuple]:
    """Order count, total spent and last order of the page's customers (only asked when a rule needs
    it), by id range for the reason `_consent` gives."""
    rows = db.session.execute(
        select(Order.customer_id, func.count(), func.coalesce(func.sum(Order.total), 0), func.max(Order.created_at))
        .where(Order.store_id == store_id, Order.kind == "order", Order.customer_id.between(first, last))
        .group_by(Order.customer_id)).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def _engagement(store_id: int, first: int, last: int) -> dict[int, tuple]:
    """The latest open and click of a campaign message per customer of the page (from provider
    events on the notifications' timelines)."""
    N, E = Notification, NotificationEvent
    latest = {}
    rows = db.session.execute(
        select(N.customer_id, E.kind, func.max(E.at)).join(E, E.notification_id == N.id)
        .where(N.store_id == store_id, N.campaign_id.is_not(None), N.customer_id.between(first, last),
               E.kind.in_(("opened", "clicked")))
        .group_by(N.customer_id, E.kind))
    for customer_id, kind, at in rows:
        opened, clicked = latest.get(customer_id, (None, None))
        latest[customer_id] = (_aware(at), clicked) if kind == "opened" else (opened, _aware(at))
    return latest


def _profile(row, stats: tuple | None, engaged: tuple | None = None) -> Profile:
    orders_count, total_spent, last_order_at = stats or (0, 0, None)
    last_opened_at, last_clicked_at = engaged or (None, None)
    return Profile(tags=frozenset(row.tags or ()), groups=frozenset(row.groups or ()), locale=row.locale,
                   country=row.country, orders_count=orders_count, total_spent=Decimal(str(total_spent)),
                   last_order_at=_aware(last_order_at), last_opened_at=last_opened_at,
                   last_clicked_at=last_clicked_at)


def _aware(moment):
    # SQLite's max() hands back the stored text's datetime without its zone; the column is UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _consent(store_id: int, channel: str, rows: list) -> dict[int, str]:
    """The page's consent states on the channel. By id range, not an IN list of thousands: one range
    scan of the (customer_id, channel) index, where PostgreSQL planned the IN list badly on a
    freshly loaded table (seconds a page, bench/segment_count.py)."""
    if not rows:
        return {}
    wanted = {row.id for row in rows}
    found = db.session.execute(select(CustomerConsent.customer_id, CustomerConsent.status).where(
        CustomerConsent.customer_id.between(rows[0].id, rows[-1].id), CustomerConsent.channel == channel,
        CustomerConsent.store_id == store_id)).all()
    return {customer_id: status for customer_id, status in found if customer_id in wanted}


def _suppressed(store_id: int, channel: str) -> set[str]:
    """Every suppressed address of the store on the channel, read once per walk: addresses as
    stored, lower-cased, and the digests erased customers' suppressions are kept as."""
    return {address.strip().lower() if not address.startswith("erased:") else address
            for address in db.session.scalars(select(ChannelSuppression.address).where(
                ChannelSuppression.store_id == store_id, ChannelSuppression.channel == channel))}


def _is_suppressed(store_id: int, channel: str, address: str, suppressed: set[str]) -> bool:
    return bool(suppressed) and (address.strip().lower() in suppressed
                                 or erased_address(store_id, channel, address) in suppressed)


def _exclusion(channel: str, row, consent: str | None, suppressed: bool) -> str | None:
    if not row.address:
        return NO_ADDRESS
    if suppressed:
        return SUPPRESSED
    decision = decide(MARKETING, channel, None, consent, TOPIC, frozenset(row.muted_topics or ()))
    if decision.allowed:
        return None
    return TOPIC_OFF if consent == "opted_in" else NOT_OPTED_IN
