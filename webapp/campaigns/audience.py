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

from webapp.campaigns.segment_rules import Condition, Profile, matches
from webapp.consent.models import ChannelSuppression, CustomerConsent
from webapp.consent.policy import MARKETING, decide
from webapp.consent.vocabulary import topic_of
from webapp.customers.gdpr import erased_address
from webapp.customers.models import Customer
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
    after = 0
    while True:
        rows = _customers(store_id, channel, after)
        if not rows:
            return
        after = rows[-1].id
        in_segment = [row for row in rows if matches(match, conditions, _profile(row))]
        consent, suppressed = _consent(store_id, channel, in_segment)
        for row in in_segment:
            yield Member(row.id, row.address, row.locale or "en", row.timezone, row.name or "",
                         _exclusion(channel, row, consent.get(row.id), suppressed))


def _customers(store_id: int, channel: str, after: int) -> list:
    orders = (select(Order.customer_id, func.count().label("orders_count"),
                     func.coalesce(func.sum(Order.total), 0).label("total_spent"),
                     func.max(Order.created_at).label("last_order_at"))
              .where(Order.store_id == store_id, Order.kind == "order", Order.customer_id.is_not(None))
              .group_by(Order.customer_id).subquery())
    return db.session.execute(
        select(Customer.id, Customer.name, ADDRESS_COLUMN[channel].label("address"), Customer.locale,
               Customer.timezone, Customer.country, Customer.groups, Customer.tags, Customer.muted_topics,
               orders.c.orders_count, orders.c.total_spent, orders.c.last_order_at)
        .outerjoin(orders, orders.c.customer_id == Customer.id)
        .where(Customer.store_id == store_id, Customer.erased_at.is_(None), Customer.id > after)
        .order_by(Customer.id).limit(PAGE)).all()


def _profile(row) -> Profile:
    return Profile(tags=frozenset(row.tags or ()), groups=frozenset(row.groups or ()), locale=row.locale,
                   country=row.country, orders_count=row.orders_count or 0,
                   total_spent=Decimal(str(row.total_spent or 0)), last_order_at=_aware(row.last_order_at))


def _aware(moment):
    # SQLite's max() hands back the stored text's datetime without its zone; the column is UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _consent(store_id: int, channel: str, rows: list) -> tuple[dict[int, str], set[str]]:
    """The page's consent states on the channel, and which of its addresses are suppressed there
    (by address, or by the digest an erased customer's suppression is kept as)."""
    ids = [row.id for row in rows]
    consent = dict(db.session.execute(select(CustomerConsent.customer_id, CustomerConsent.status).where(
        CustomerConsent.store_id == store_id, CustomerConsent.channel == channel,
        CustomerConsent.customer_id.in_(ids))).all()) if ids else {}
    addresses = {row.address.strip().lower(): row.address for row in rows if row.address}
    candidates = set(addresses.values()) | set(addresses) | {
        erased_address(store_id, channel, address) for address in addresses}
    found = set(db.session.scalars(select(ChannelSuppression.address).where(
        ChannelSuppression.store_id == store_id, ChannelSuppression.channel == channel,
        ChannelSuppression.address.in_(candidates)))) if candidates else set()
    suppressed = {address for address in addresses if address in found or addresses[address] in found
                  or erased_address(store_id, channel, address) in found}
    return consent, suppressed


def _exclusion(channel: str, row, consent: str | None, suppressed: set[str]) -> str | None:
    if not row.address:
        return NO_ADDRESS
    if row.address.strip().lower() in suppressed:
        return SUPPRESSED
    decision = decide(MARKETING, channel, None, consent, TOPIC, frozenset(row.muted_topics or ()))
    if decision.allowed:
        return None
    return TOPIC_OFF if consent == "opted_in" else NOT_OPTED_IN
