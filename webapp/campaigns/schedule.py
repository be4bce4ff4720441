"""When a campaign's messages are due: now, at a moment in the store's timezone, or at the same
wall-clock time in each recipient's own zone; and the send window (e.g. weekdays 09:00–18:00, in
the store's timezone) outside which sending pauses and resumes. Pure: no database, no Flask."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from webapp.consent.marketing_limits import zone

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# The earliest offset on Earth (Kiribati, UTC+14): a local-time campaign starts when its hour
# first arrives anywhere, and each recipient's message is due when it arrives where they are.
EARLIEST_OFFSET = timedelta(hours=14)


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time

    def describe(self) -> str:
        days = ", ".join(DAY_NAMES[day] for day in sorted(self.days))
        return f"{days} {self.start:%H:%M}–{self.end:%H:%M}"

    def as_json(self) -> dict:
        return {"days": sorted(self.days), "start": f"{self.start:%H:%M}", "end": f"{self.end:%H:%M}"}


def parse_window(raw: object) -> tuple[Window | None, list[tuple[str, str]]]:
    """A window from {"days": [0..6], "start": "HH:MM", "end": "HH:MM"}; None when not given.
    Problems are (field, message); a window that never opens is one."""
    if raw in (None, {}, ""):
        return None, []
    if not isinstance(raw, dict):
        return None, [("send_window", "send_window must be an object with days, start and end")]
    problems: list[tuple[str, str]] = []
    days = raw.get("days", list(range(7)))
    if not isinstance(days, list) or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6
                                             for d in days):
        problems.append(("send_window.days", "days must be a list of weekdays, 0 (Monday) to 6 (Sunday)"))
        days = []
    elif not days:
        problems.append(("send_window.days", "the send window never opens: choose at least one day"))
    start, end = _hhmm(raw.get("start")), _hhmm(raw.get("end"))
    if start is None:
        problems.append(("send_window.start", "start must be a time like 09:00"))
    if end is None:
        problems.append(("send_window.end", "end must be a time like 18:00"))
    if start is not None and end is not None and end <= start:
        problems.append(("send_window.end", "the send window never opens: end must be after start"))
    if problems:
        return None, problems
    return Window(frozenset(days), start, end), []


def _hhmm(value: object) -> time | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%H:%M").time()
    except ValueError:
        return None


def in_window(window: Window | None, moment: datetime, tz: ZoneInfo) -> bool:
    if window is None:
        return True
    local = moment.astimezone(tz)
    return local.weekday() in window.days and window.start <= local.time() < window.end


def next_open(window: Window, moment: datetime, tz: ZoneInfo) -> datetime:
    """The next moment at or after `moment` when the window is open (UTC)."""
    if in_window(window, moment, tz):
        return moment
    local = moment.astimezone(tz)
    for ahead in range(8):
        day = (local + timedelta(days=ahead)).date()
        opens = datetime.combine(day, window.start, tzinfo=tz)
        if day.weekday() in window.days and opens >= local:
            return opens.astimezone(UTC)
    raise ValueError("the send window never opens")  # parse_window refuses such windows


def start_at(send_at: datetime | None, local_time: bool, store_tz: ZoneInfo, now: datetime) -> datetime:
    """When the send starts (the segment is frozen then): for a local-time campaign, when send_at's
    wall-clock time (in the store's zone) first arrives anywhere."""
    if send_at is None:
        return now
    if not local_time:
        return send_at
    return send_at.astimezone(store_tz).replace(tzinfo=UTC) - EARLIEST_OFFSET


def due_at(send_at: datetime | None, local_time: bool, store_tz: ZoneInfo, customer_tz: str | None,
           now: datetime) -> datetime:
    """When one recipient's message is due. For a local-time campaign, send_at's wall-clock time in
    the store's zone is taken in the recipient's (the store's when they have none); a recipient
    whose hour has already passed at the start is due at once."""
    if send_at is None:
        return now
    if not local_time:
        return max(send_at, now)
    wall = send_at.astimezone(store_tz).replace(tzinfo=None)
    return max(wall.replace(tzinfo=zone(customer_tz, store_tz.key)).astimezone(UTC), now)
