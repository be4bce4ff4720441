"""The customer's inbox feed and push-device registration, as plain functions over a session.

No Flask here: the view authenticates and picks the store, these functions do the rest, every
query filtered on the store. Input checks raise FeedError with a message fit for a 400.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.customers.models import Customer, CustomerDevice
from webapp.inbox.models import InboxMessage
from webapp.keyset import keyset_page
from webapp.timeutil import utcnow

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_ID = 2**63 - 1
PLATFORMS = ("fcm", "apns")
MAX_TOKEN = 512
# FCM registration tokens are URL-safe base64 with ':' separators; APNs device tokens are hex.
_TOKEN_CHARS = {"fcm": re.compile(r"[A-Za-z0-9_:\-.]+"), "apns": re.compile(r"[0-9A-Fa-f]+")}


class FeedError(ValueError):
    """The request's input is not valid; nothing was written."""


@dataclass(frozen=True)
class FeedPage:
    messages: list[InboxMessage]
    unread_count: int
    next_before: int | None


@dataclass(frozen=True)
class DeviceRegistration:
    device: CustomerDevice
    created: bool


def parse_id(value: str | None) -> int | None:
    """A positive database id from a URL or query string, or None when it cannot be one."""
    if not value or not value.isdigit():
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def parse_page_args(limit: str | None, before: str | None) -> tuple[int, int | None]:
    if limit in (None, ""):
        size = DEFAULT_LIMIT
    elif not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise FeedError(f"“limit” must be a whole number from 1 to {MAX_LIMIT}")
    else:
        size = int(limit)
    if before in (None, ""):
        return size, None
    cursor = parse_id(before)
    if cursor is None:
        raise FeedError("“before” must be a message id: the next_before of the previous page")
    return size, cursor


def customer_exists(session: Session, store_id: int, customer_id: int) -> bool:
    return session.scalar(select(Customer.id).where(Customer.id == customer_id,
                                                    Customer.store_id == store_id)) is not None


def _mine(store_id: int, customer_id: int):
    return (InboxMessage.store_id == store_id, InboxMessage.customer_id == customer_id)


def unread_count(session: Session, store_id: int, customer_id: int) -> int:
    return session.scalar(select(func.count()).select_from(InboxMessage).where(
        *_mine(store_id, customer_id), InboxMessage.read_at.is_(None))) or 0


def feed_page(session: Session, store_id: int, customer_id: int, limit: int = DEFAULT_LIMIT,
              before: int | None = None) -> FeedPage:
    """Newest first; next_before is the id to pass as `before` for the next page (None at the end)."""
    query = select(InboxMessage).where(*_mine(store_id, customer_id))
    page = keyset_page(session, query, InboxMessage.id, before, max(1, min(limit, MAX_LIMIT)))
    return FeedPage(page.rows, unread_count(session, store_id, customer_id), page.next_before)


def message_json(row: InboxMessage) -> dict:
    return {"id": row.id, "title": row.title, "body": row.body, "link": row.link, "created_at": _iso(row.created_at),
            "read": row.read_at is not None}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def mark_read(session: Session, store_id: int, customer_id: int, message_id: int) -> bool:
    """Mark one message read (again is a no-op); False when the customer has no such message."""
    exists = session.scalar(select(InboxMessage.id).where(*_mine(store_id, customer_id),
                                                          InboxMessage.id == message_id))
    if exists is None:
        return False
    session.execute(update(InboxMessage).where(InboxMessage.id == message_id, InboxMessage.read_at.is_(None))
                    .values(read_at=utcnow()))
    session.commit()
    return True


def mark_all_read(session: Session, store_id: int, customer_id: int) -> None:
    session.execute(update(InboxMessage).where(*_mine(store_id, customer_id), InboxMessage.read_at.is_(None))
                    .values(read_at=utcnow()))
    session.commit()


def parse_device(payload) -> tuple[str, str]:
    """(platform, token) from a registration body, or FeedError saying what is wrong."""
    if not isinstance(payload, dict):
        raise FeedError('the body must be a JSON object: {"platform": "fcm" or "apns", "token": "..."}')
    platform, token = payload.get("platform"), payload.get("token")
    if platform not in PLATFORMS:
        raise FeedError("“platform” must be “fcm” or “apns”")
    if not isinstance(token, str) or not token.strip():
        raise FeedError("“token” must be the device's push token, a non-empty string")
    token = token.strip()
    if len(token) > MAX_TOKEN:
        raise FeedError(f"“token” must be at most {MAX_TOKEN} characters")
    if not _TOKEN_CHARS[platform].fullmatch(token):
        kind = "hexadecimal" if platform == "apns" else "letters, digits and _ : - ."
        raise FeedError(f"“token” is not a {platform} push token: it must be {kind} only")
    return platform, token


def register_device(session: Session, store_id: int, customer_id: int, platform: str,
                    token: str) -> DeviceRegistration:
    """Upsert on (store, token): a token seen again is refreshed and moves to this customer
    (a shared device that another customer signed in to)."""
    for _ in range(2):
        device = session.scalar(select(CustomerDevice).where(CustomerDevice.store_id == store_id,
                                                             CustomerDevice.token == token))
        now = utcnow()
        if device is not None:
            device.customer_id, device.platform, device.last_seen_at = customer_id, platform, now
            session.commit()
            return DeviceRegistration(device, created=False)
        try:
            # A savepoint: a concurrent registration of the same token loses only this insert.
            with session.begin_nested():
                device = CustomerDevice(store_id=store_id, customer_id=customer_id, platform=platform,
                                        token=token, created_at=now, last_seen_at=now)
                session.add(device)
            session.commit()
            return DeviceRegistration(device, created=True)
        except IntegrityError:
            pass  # the other registration won (its savepoint is rolled back): update its row on the next pass
    raise RuntimeError("device registration kept conflicting")  # pragma: no cover


def remove_device(session: Session, store_id: int, customer_id: int, token: str) -> bool:
    """Forget the customer's token (signed out, uninstalled); False when they had no such token."""
    device = session.scalar(select(CustomerDevice).where(CustomerDevice.store_id == store_id,
                                                         CustomerDevice.customer_id == customer_id,
                                                         CustomerDevice.token == token))
    if device is None:
        return False
    session.delete(device)
    session.commit()
    return True


def device_json(device: CustomerDevice) -> dict:
    return {"id": device.id, "platform": device.platform, "token": device.token,
            "created_at": _iso(device.created_at), "last_seen_at": _iso(device.last_seen_at)}
