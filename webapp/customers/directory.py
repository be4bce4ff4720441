"""Finding a store's customers: text search over name, email and phone, filters by group, tag and
(through a subquery the caller builds) consent, newest first in keyset pages of 50. Every query is
scoped to one store.

Groups and tags are JSON lists. To filter them the same way on SQLite and PostgreSQL without a
join table, the filter matches the label with its quotes in the stored JSON text ('"VIP"'), so
"VIP" never matches "VIP Gold". That holds because labels may not contain quotes or backslashes
(fields.clean_labels). It ignores case in ASCII letters, as the search does. It scans the store's
customers, which is fine at dashboard sizes; a GIN index (PostgreSQL) is the next step if not.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Select, Text, cast, func, or_, select

from webapp.customers.models import Customer
from webapp.keyset import Page, keyset_page

PAGE_SIZE = 50
MAX_QUERY = 100
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]+")


class DirectoryFilterError(ValueError):
    """A filter value that cannot be used; the message names it."""


@dataclass(frozen=True)
class CustomerFilter:
    q: str | None = None  # part of the name, email or phone
    group: str | None = None
    tag: str | None = None
    consent_channel: str | None = None  # with consent_status: e.g. sms / never_asked
    consent_status: str | None = None
    before: int | None = None  # keyset cursor

    def as_params(self) -> dict[str, str]:
        """The filters (not the cursor) as query parameters, for the next page's link."""
        values = {"q": self.q, "group": self.group, "tag": self.tag, "consent_channel": self.consent_channel,
                  "consent_status": self.consent_status}
        return {name: value for name, value in values.items() if value}

    @property
    def is_filtered(self) -> bool:
        return bool(self.as_params())


def parse_filter(args: Mapping[str, str], channels: tuple[str, ...], statuses: tuple[str, ...]) -> CustomerFilter:
    """Query parameters (empty ones count as absent) into a CustomerFilter, or DirectoryFilterError."""
    def text(name: str, limit: int = MAX_QUERY) -> str | None:
        value = " ".join((args.get(name) or "").split())
        if len(value) > limit:
            raise DirectoryFilterError(f"{name} is too long: at most {limit} characters.")
        return value or None

    channel, status = text("consent_channel", 16), text("consent_status", 16)
    if channel and channel not in channels:
        raise DirectoryFilterError(f"consent_channel “{channel}” is not one of {', '.join(channels)}.")
    if status and status not in statuses:
        raise DirectoryFilterError(f"consent_status “{status}” is not one of {', '.join(statuses)}.")
    if bool(channel) != bool(status):
        raise DirectoryFilterError("Choose both a channel and a consent state to filter by consent.")
    before = text("before", 20)
    if before is not None and not before.isdigit():
        raise DirectoryFilterError("before must be a whole number: the id the “Older” link gives.")
    return CustomerFilter(q=text("q"), group=text("group", 64), tag=text("tag", 64), consent_channel=channel,
                          consent_status=status, before=int(before) if before else None)


def _like(value: str) -> str:
    """The value for LIKE … ESCAPE '/', its wildcards taken literally."""
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _has_label(column, label: str):
    # With its quotes and escaped as the stored JSON is (non-ASCII as \u00e9), both sides lowered.
    needle = json.dumps(label).lower()
    return func.lower(cast(column, Text)).like(f"%{_like(needle)}%", escape="/")


def search(session, store_id: int, filters: CustomerFilter, *, customer_ids: Select | None = None,
           exclude_ids: Select | None = None, size: int = PAGE_SIZE) -> Page[Customer]:
    """A page of the store's customers. customer_ids / exclude_ids are subqueries of customer ids
    to keep or drop: the consent filter, which the consent package knows how to ask."""
    query = select(Customer).where(Customer.store_id == store_id)
    if filters.q:
        pattern = f"%{_like(filters.q)}%"
        matches = [Customer.name.ilike(pattern, escape="/"), Customer.email.ilike(pattern, escape="/")]
        digits = re.sub(r"\D", "", filters.q)
        if _PHONE_LIKE.fullmatch(filters.q) and len(digits) >= 3:
            matches.append(Customer.phone.like(f"%{digits}%"))  # "(415) 555-01" finds +1415555010…
        query = query.where(or_(*matches))
    if filters.group:
        query = query.where(_has_label(Customer.groups, filters.group))
    if filters.tag:
        query = query.where(_has_label(Customer.tags, filters.tag))
    if customer_ids is not None:
        query = query.where(Customer.id.in_(customer_ids))
    if exclude_ids is not None:
        query = query.where(Customer.id.not_in(exclude_ids))
    return keyset_page(session, query, Customer.id, filters.before, size)


def get_customer(session, store_id: int, customer_id: int) -> Customer | None:
    """The store's customer with this id; None for another store's, so the caller answers 404."""
    return session.scalar(select(Customer).where(Customer.id == customer_id, Customer.store_id == store_id))
