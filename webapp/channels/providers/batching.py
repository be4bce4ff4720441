"""Campaign batches for providers whose API sends one content to many recipients in one request
(SendGrid personalizations, Mailgun recipient variables): group a job's messages by identical
subject, body and headers, send each group as one request, and give every message its group's outcome."""
from __future__ import annotations

from collections.abc import Callable

from webapp.channels.providers.base import BatchOutcome, OutboundMessage, ProviderError, SendResult


def content_groups(messages: list[OutboundMessage], limit: int) -> list[list[int]]:
    """Indexes of messages with the same subject and body, at most `limit` per group and each address
    (compared case-insensitively) at most once per group, since providers key per-recipient data by it."""
    groups: list[list[int]] = []
    open_groups: dict[tuple, list[tuple[list[int], set[str]]]] = {}
    for index, message in enumerate(messages):
        address = message.recipient.strip().lower()
        candidates = open_groups.setdefault((message.subject or "", message.body,
                                             tuple(sorted((message.headers or {}).items()))), [])
        for indexes, addresses in candidates:
            if address not in addresses and len(indexes) < limit:
                indexes.append(index)
                addresses.add(address)
                break
        else:
            indexes = [index]
            candidates.append((indexes, {address}))
            groups.append(indexes)
    return groups


def send_grouped(messages: list[OutboundMessage], limit: int,
                 send_group: Callable[[list[OutboundMessage]], SendResult]) -> list[BatchOutcome]:
    """One request per content group; a request's result or error is every one of its messages' outcome."""
    outcomes: list[BatchOutcome | None] = [None] * len(messages)
    for indexes in content_groups(messages, limit):
        try:
            outcome: BatchOutcome = send_group([messages[i] for i in indexes])
        except ProviderError as error:
            outcome = error
        for i in indexes:
            outcomes[i] = outcome
    return outcomes  # type: ignore[return-value]  (every index belongs to exactly one group)
