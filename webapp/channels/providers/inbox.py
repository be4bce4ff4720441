"""The built-in in-app inbox: a message is "sent" by storing it in the customer's inbox, which
the storefront reads through the feed API (webapp/views/inbox.py).

Nothing to configure and no secrets. Idempotent like the sandbox: the same idempotency key twice
stores one message and answers the same id.
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.channels.providers.base import OutboundMessage, PermanentProviderError, ProviderSpec, SendResult
from webapp.customers.models import Customer
from webapp.extensions import db
from webapp.inbox.models import InboxMessage

SPEC = ProviderSpec("inbox", "In-app inbox (built in)", ("in_app",), deduplicates=True)
_RECIPIENT = re.compile(r"customer:([1-9][0-9]{0,18})")
TITLE_MAX = 500


class InboxProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        pass

    def send(self, message: OutboundMessage) -> SendResult:
        match = _RECIPIENT.fullmatch(message.recipient or "")
        if match is None:
            raise PermanentProviderError(f"not an in-app recipient: {message.recipient!r} (expected customer:<id>)")
        customer_id = int(match.group(1))
        belongs = db.session.scalar(select(Customer.id).where(Customer.id == customer_id,
                                                              Customer.store_id == message.store_id))
        if belongs is None:
            raise PermanentProviderError(f"customer {customer_id} is not a customer of this store")
        existing = self._existing(message.store_id, message.idempotency_key)
        if existing:
            return SendResult(f"inbox-{existing}")
        # A savepoint, so a concurrent duplicate does not roll back the caller's transaction.
        try:
            with db.session.begin_nested():
                row = InboxMessage(store_id=message.store_id, customer_id=customer_id,
                                   notification_id=message.notification_id or None,
                                   idempotency_key=message.idempotency_key,
                                   title=(message.subject or "")[:TITLE_MAX], body=message.body or "",
                                   link=message.link)
                db.session.add(row)
        except IntegrityError as error:
            existing = self._existing(message.store_id, message.idempotency_key)
            if existing is None:  # the key is taken, but not by this store: never show it here
                raise PermanentProviderError("idempotency key already used outside this store") from error
            return SendResult(f"inbox-{existing}")
        # Committed now, so a crash before delivery records "sent" finds this row on the resend.
        db.session.commit()
        return SendResult(f"inbox-{row.id}")

    @staticmethod
    def _existing(store_id: int, key: str) -> int | None:
        return db.session.scalar(select(InboxMessage.id).where(InboxMessage.idempotency_key == key,
                                                               InboxMessage.store_id == store_id))
