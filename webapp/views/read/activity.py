"""Finding one store's notifications by status, channel, message type, source, order, customer and date.

Shared by the Activity page and GET /api/v1/notifications: parse_filters turns query parameters into an
ActivityFilter (or a FilterError naming the bad parameter), query_notifications runs one keyset-paginated
query that the (store_id, …, id) indexes of the notifications table serve.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from webapp.channels.registry import channels
from webapp.customers.models import Customer
from webapp.dispatch.models import STATUSES, Notification
from webapp.keyset import keyset_page
from webapp.orders.models import Order

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# The query parameters parse_filters reads; anything else is ignored.
PARAMETERS = ("status", "channel", "message_type", "source", "order_number", "customer",
              "date_from", "date_to", "before", "limit")

_MESSAGE_TYPE = re.compile(r"[a-z_]+\.[a-z_]+")
_SOURCE = re.compile(r"[a-z0-9_]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PHONE = re.compile(r"\+?[\d\s().-]{6,}")


class FilterError(ValueError):
    """A filter parameter is not valid; the message names it and says what is expected."""


@dataclass(frozen=True)
class ActivityFilter:
    status: str | None = None
    channel: str | None = None
    message_type: str | None = None  # e.g. order.cancelled
    source: str | None = None  # where the triggering event came from, e.g. shopify, manual
    order_number: str | None = None  # exact; "1001" also finds "#1001"
    customer: str | None = None  # part of the customer's name or email, or their whole phone number
    date_from: date | None = None  # UTC, inclusive
    date_to: date | None = None  # UTC, inclusive
    before_id: int | None = None  # keyset cursor: only notifications with a smaller id
    limit: int = DEFAULT_LIMIT

    @property
    def is_filtered(self) -> bool:
        return bool(self.as_params())

    def as_params(self) -> dict[str, str]:
        """The filters (not the cursor or limit) as query parameters, to build the next page's link."""
        values = {"status": self.status, "channel": self.channel, "message_type": self.message_type,
                  "source": self.source, "order_number": self.order_number, "customer": self.customer,
                  "date_from": self.date_from.isoformat() if self.date_from else None,
                  "date_to": self.date_to.isoformat() if self.date_to else None}
        return {name: value for name, value in values.items() if value}


def _text(args: Mapping[str, str], name: str, max_length: int) -> str | None:
    value = (args.get(name) or "").strip()
    if len(value) > max_length:
        raise FilterError(f"{name} is too long: at most {max_length} characters.")
    return value or None


def _choice(args: Mapping[str, str], name: str, allowed: Iterable[str]) -> str | None:
    value = _text(args, name, 64)
    allowed = tuple(allowed)
    if value is not None and value not in allowed:
        raise FilterError(f"{name} “{value}” is not known; use one of: {', '.join(allowed)}.")
    return value


def _pattern(args: Mapping[str, str], name: str, pattern: re.Pattern, max_length: int, example: str) -> str | None:
    value = _text(args, name, max_length)
    if value is not None and not pattern.fullmatch(value):
        raise FilterError(f"{name} “{value}” is not valid; it looks like {example}.")
    return value


def _date(args: Mapping[str, str], name: str) -> date | None:
    value = _text(args, name, 10)
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name} “{value}” is not a date; write it as YYYY-MM-DD, e.g. 2024-05-31.") from None


def _int(args: Mapping[str, str], name: str, low: int, high: int | None = None) -> int | None:
    value = _text(args, name, 20)
    if value is None:
        return None
    if not value.isdigit() or int(value) < low or (high is not None and int(value) > high):
        upper = f" and at most {high}" if high is not None else ""
        raise FilterError(f"{name} “{value}” must be a whole number of at least {low}{upper}.")
    return int(value)


def parse_filters(args: Mapping[str, str]) -> ActivityFilter:
    """Validate query parameters (empty ones count as absent) into an ActivityFilter."""
    date_from, date_to = _date(args, "date_from"), _date(args, "date_to")
    if date_from and date_to and date_from > date_to:
        raise FilterError(f"date_from ({date_from}) is after date_to ({date_to}).")
    limit = _int(args, "limit", 1, MAX_LIMIT)
    return ActivityFilter(
        status=_choice(args, "status", STATUSES),
        channel=_choice(args, "channel", (c.code for c in channels())),
        message_type=_pattern(args, "message_type", _MESSAGE_TYPE, 64, "order.cancelled"),
        source=_pattern(args, "source", _SOURCE, 32, "shopify"),
        order_number=_text(args, "order_number", 64),
        customer=_text(args, "customer", 254),
        date_from=date_from,
        date_to=date_to,
        before_id=_int(args, "before", 1, 2**63 - 1),
        limit=DEFAULT_LIMIT if limit is None else limit,
    )


def _order_numbers(number: str) -> list[str]:
    # Platforms show "#1001" but people type "1001" (and the other way round).
    bare = number.removeprefix("#")
    return [bare, f"#{bare}"]


def _customer_matches(needle: str):
    lowered = needle.lower()
    conditions = [func.lower(Customer.name).contains(lowered, autoescape=True),
                  func.lower(Customer.email).contains(lowered, autoescape=True)]
    if _PHONE.fullmatch(needle):
        digits = re.sub(r"[\s().-]", "", needle)
        conditions.append(Customer.phone.in_({digits, "+" + digits.removeprefix("+")}))
    return or_(*conditions)


def filtered_query(store_id: int, f: ActivityFilter) -> Select:
    """The store's notifications matching f, without order or cursor."""
    query = select(Notification).where(Notification.store_id == store_id)
    for column, value in ((Notification.status, f.status), (Notification.channel, f.channel),
                          (Notification.message_type, f.message_type), (Notification.source, f.source)):
        if value:
            query = query.where(column == value)
    if f.order_number:
        query = query.join(Order, Order.id == Notification.order_id).where(
            Order.store_id == store_id, Order.number.in_(_order_numbers(f.order_number)))
    if f.customer:
        query = query.join(Customer, Customer.id == Notification.customer_id).where(
            Customer.store_id == store_id, _customer_matches(f.customer))
    if f.date_from:
        query = query.where(Notification.created_at >= datetime.combine(f.date_from, time.min, UTC))
    if f.date_to:
        query = query.where(Notification.created_at < datetime.combine(f.date_to + timedelta(days=1), time.min, UTC))
    return query


def query_notifications(session: Session, store_id: int, f: ActivityFilter) -> tuple[list[Notification], int | None]:
    """One page of matching notifications, newest first, and the before_id of the next page (None at the end)."""
    page = keyset_page(session, filtered_query(store_id, f), Notification.id, f.before_id,
                       max(1, min(f.limit, MAX_LIMIT)))
    return page.rows, page.next_before


def orders_and_customers(session: Session, store_id: int, rows: Iterable[Notification]
                         ) -> tuple[dict[int, Order], dict[int, Customer]]:
    """The orders and customers a page of notifications refers to, by id, in two small queries."""
    rows = list(rows)
    order_ids = {row.order_id for row in rows if row.order_id}
    customer_ids = {row.customer_id for row in rows if row.customer_id}
    orders = {o.id: o for o in session.scalars(select(Order).where(Order.store_id == store_id,
                                                                   Order.id.in_(order_ids)))} if order_ids else {}
    customers = {c.id: c for c in session.scalars(
        select(Customer).where(Customer.store_id == store_id, Customer.id.in_(customer_ids)))} if customer_ids else {}
    return orders, customers
