"""Keyset pagination, newest first: a page of rows with ids below a cursor, and the cursor of the
next page. Every list in the dashboard and the APIs pages this way, so deep pages cost what the
first one does (an index range scan, never OFFSET)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    next_before: int | None  # the cursor of the next (older) page; None on the last one


def keyset_page(session, query: Select, id_column: Any, before: int | None, size: int) -> Page:
    """Run `query` (already filtered) for `size` rows with id < `before`, newest first."""
    if before:
        query = query.where(id_column < before)
    rows = list(session.scalars(query.order_by(id_column.desc()).limit(size + 1)))
    next_before = rows[size - 1].id if len(rows) > size else None
    return Page(rows[:size], next_before)
