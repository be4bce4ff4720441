"""What the Customers pages and the customers API read beside the customer: consent per channel and
its suppressions, their orders and notifications, and the consent filter of the list."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select

from webapp.consent.models import ChannelSuppression, CustomerConsent
from webapp.consent.vocabulary import CONSENT_CHANNELS, NEVER_ASKED, SOURCES, STATUS_LABELS, channel_label
from webapp.customers.models import Customer
from webapp.dispatch.models import Notification
from webapp.extensions import db
from webapp.orders.models import Order

NOTIFICATIONS_SHOWN = 100
ORDERS_SHOWN = 50
# ConsentEvent.action as the history reads it.
ACTION_LABELS = {"opt_in": "Opted in", "opt_out": "Opted out", "reset": "Back to never asked", "bounce": "Bounced",
                 "complaint": "Marked as spam", "help": "Asked for help"}


@dataclass(frozen=True)
class ChannelConsent:
    channel: str
    label: str  # "SMS"
    status: str  # opted_in, opted_out, never_asked
    since: datetime | None
    source: str | None  # "Staff", "CSV import", …
    suppression: ChannelSuppression | None  # blocks every message on the channel, whatever the consent

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def title(self) -> str:
        return channel_title(self.channel)


def channel_title(channel: str) -> str:
    """The channel's name at the start of a line: "Email", "SMS", "WhatsApp"."""
    label = channel_label(channel)
    return label[:1].upper() + label[1:]


def consent_filter(store_id: int, channel: str | None, status: str | None) -> tuple[Select | None, Select | None]:
    """(customer ids to keep, customer ids to drop) for a consent filter; never asked is having no row."""
    if not (channel and status):
        return None, None
    ids = select(CustomerConsent.customer_id).where(CustomerConsent.store_id == store_id,
                                                    CustomerConsent.channel == channel)
    if status == NEVER_ASKED:
        return None, ids
    return ids.where(CustomerConsent.status == status), None


def consents_by_customer(customer_ids: list[int]) -> dict[int, dict[str, str]]:
    """{customer id: {channel: status}} for a page of customers, in one query."""
    found: dict[int, dict[str, str]] = {}
    if customer_ids:
        rows = db.session.execute(select(CustomerConsent.customer_id, CustomerConsent.channel, CustomerConsent.status)
                                  .where(CustomerConsent.customer_id.in_(customer_ids)))
        for customer_id, channel, status in rows:
            found.setdefault(customer_id, {})[channel] = status
    return found


def suppressions_of(customer: Customer) -> list[ChannelSuppression]:
    """The suppressions on the customer's own email and phone."""
    reaches = []
    if customer.email:
        reaches.append(and_(ChannelSuppression.channel == "email", ChannelSuppression.address == customer.email))
    if customer.phone:
        reaches.append(and_(ChannelSuppression.channel != "email", ChannelSuppression.address == customer.phone))
    if not reaches:
        return []
    return list(db.session.scalars(select(ChannelSuppression).where(ChannelSuppression.store_id == customer.store_id,
                                                                    or_(*reaches))
                                   .order_by(ChannelSuppression.channel)))


def consent_overview(customer: Customer) -> list[ChannelConsent]:
    rows = {row.channel: row for row in db.session.scalars(
        select(CustomerConsent).where(CustomerConsent.customer_id == customer.id))}
    suppressed = {row.channel: row for row in suppressions_of(customer)}
    return [ChannelConsent(channel, channel_label(channel), rows[channel].status if channel in rows else NEVER_ASKED,
                           rows[channel].updated_at if channel in rows else None,
                           SOURCES.get(rows[channel].source, rows[channel].source) if channel in rows else None,
                           suppressed.get(channel))
            for channel in CONSENT_CHANNELS]


def orders_of(customer: Customer, limit: int = ORDERS_SHOWN) -> list[Order]:
    return list(db.session.scalars(select(Order).where(Order.customer_id == customer.id,
                                                       Order.store_id == customer.store_id)
                                   .order_by(Order.id.desc()).limit(limit)))


def notifications_of(customer: Customer, limit: int = NOTIFICATIONS_SHOWN) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.customer_id == customer.id,
                                                              Notification.store_id == customer.store_id)
                                   .order_by(Notification.id.desc()).limit(limit)))
