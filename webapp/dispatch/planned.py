"""What a sender hands to dispatch: one rendered message for one recipient on one channel.

Rules, staff sends, and next campaigns and automations all plan these; dispatch.outbox writes
them to the outbox. Plain data, so planners that build them stay pure.
"""
from __future__ import annotations

from dataclasses import dataclass

PENDING = "pending"


@dataclass(frozen=True)
class PlannedMessage:
    channel: str
    message_type: str
    priority: str
    locale: str
    recipient: str
    subject: str | None
    body: str
    status: str = PENDING
    error: str | None = None
    template: str | None = None  # which template layer and locale it was rendered from, in words
    text: str | None = None  # an email's plain-text part
    link: str | None = None  # push and in-app: where tapping the message leads
    headers: dict[str, str] | None = None  # email: List-Unsubscribe on marketing
