"""The sandbox provider: records what would have been sent, for development and the demo.

It behaves like a well-behaved provider with idempotency keys: the same key twice stores one
message and answers the same id.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.channels.models import SandboxMessage
from webapp.channels.providers.base import OutboundMessage, ProviderSpec, SendResult
from webapp.extensions import db

SPEC = ProviderSpec("sandbox", "Sandbox (records, sends nothing)",
                    ("email", "sms", "whatsapp", "push", "in_app", "ops"), deduplicates=True)


class SandboxProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        pass

    def send(self, message: OutboundMessage) -> SendResult:
        existing = self._existing(message.idempotency_key)
        if existing:
            return SendResult(f"sandbox-{existing}")
        # A savepoint, so a concurrent duplicate does not roll back the caller's transaction.
        try:
            with db.session.begin_nested():
                row = SandboxMessage(store_id=message.store_id, notification_id=message.notification_id or None,
                                     channel=message.channel, recipient=message.recipient,
                                     subject=message.subject, body=message.body,
                                     idempotency_key=message.idempotency_key)
                db.session.add(row)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return SendResult(f"sandbox-{self._existing(message.idempotency_key)}")
        return SendResult(f"sandbox-{row.id}")

    @staticmethod
    def _existing(key: str) -> int | None:
        return db.session.scalar(select(SandboxMessage.id).where(SandboxMessage.idempotency_key == key))
