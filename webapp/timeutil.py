"""UTC timestamps. Stored naive-in-UTC would be ambiguous on SQLite, so always timezone-aware."""
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
