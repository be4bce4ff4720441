"""Redaction in the database: LIKE conditions that pick the rows which may mention a person (only
those are read), and one executemany UPDATE for the rows the Redactor actually changed."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import JSON, Text, cast, false, or_, update

from webapp.extensions import db


def mentioning(column, needles: list[str]):
    """True for a row whose column (text or JSON) contains any of the needles, in any case."""
    if not needles:
        return false()
    text = cast(column, Text) if isinstance(column.type, JSON) else column
    return or_(*(text.ilike(f"%{_escape(needle)}%", escape="!") for needle in needles))


def mentioning_any(columns: Iterable, needles: list[str]):
    """Needles come from Redactor.needles(): what makes a row worth reading."""
    return or_(*(mentioning(column, needles) for column in columns))


def update_changed(model, transforms: dict[str, Callable], rows: Iterable) -> int:
    """Rows are (id, *values in the order of `transforms`); each value goes through its transform and
    the rows that changed are written back in one statement. Returns how many."""
    names = list(transforms)
    changes = []
    for row_id, *values in rows:
        new = {name: transforms[name](value) for name, value in zip(names, values, strict=True)}
        if any(new[name] != value for name, value in zip(names, values, strict=True)):
            changes.append({"id": row_id, **new})
    if changes:
        db.session.execute(update(model), changes)
    return len(changes)


def _escape(needle: str) -> str:
    return needle.replace("!", "!!").replace("%", "!%").replace("_", "!_")
