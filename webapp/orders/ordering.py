"""Which status change wins: a total order over (time, lifecycle step), so the same events in any
order, duplicated or with equal timestamps, leave an order in one state and notify once.

Later in time wins. At the same instant, the step further along the lifecycle wins (the order of
vocabulary.ORDER_STATUSES / INVOICE_STATUSES: initiated … delivered, then cancelled, returned); the
same step at the same instant is the same change. Pure: tested without a database.
"""
from __future__ import annotations

from datetime import datetime

from webapp.vocabulary import INVOICE, INVOICE_STATUSES, ORDER_STATUSES

_RANK = {kind: {choice.code: rank for rank, choice in enumerate(statuses)}
         for kind, statuses in (("order", ORDER_STATUSES), (INVOICE, INVOICE_STATUSES))}


def lifecycle_rank(kind: str, status: str | None) -> int:
    """The status's step in its lifecycle; -1 for none yet or one outside the vocabulary."""
    return _RANK["order" if kind != INVOICE else INVOICE].get(status or "", -1)


def supersedes(kind: str, new_status: str, new_at: datetime, current_status: str | None,
               current_at: datetime | None) -> bool:
    """Whether an event moving to `new_status` at `new_at` replaces the order's current status."""
    if current_at is None:
        return True
    if new_at != current_at:
        return new_at > current_at
    return lifecycle_rank(kind, new_status) > lifecycle_rank(kind, current_status)
