"""When marketing must wait or stay back, whatever the consent: quiet hours in the customer's
timezone, and the store's frequency cap. Pure functions of the time and the counts."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def parse_hhmm(value: str | None) -> time | None:
    match = _HHMM.fullmatch((value or "").strip())
    return time(int(match[1]), int(match[2])) if match else None


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The named zone, else the fallback's (a customer without one takes the store's), else UTC."""
    for candidate in (name, fallback):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def quiet_until(now: datetime, start: str | None, end: str | None, tz: ZoneInfo) -> datetime | None:
    """The moment quiet hours end, if `now` (aware) falls inside them in `tz`; None otherwise or when
    the store has none. Quiet hours may span midnight (21:00–08:00)."""
    begin, finish = parse_hhmm(start), parse_hhmm(end)
    if begin is None or finish is None or begin == finish:
        return None
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if begin < finish:
        inside, ends_tomorrow = begin <= clock < finish, False
    else:
        inside, ends_tomorrow = clock >= begin or clock < finish, clock >= begin
    if not inside:
        return None
    day = local.date() + timedelta(days=1 if ends_tomorrow else 0)
    return datetime.combine(day, finish, tzinfo=tz)


def cap_reason(sent_today: int, sent_this_week: int, cap_day: int | None, cap_week: int | None) -> str | None:
    """Why the cap holds the next marketing message back ("frequency cap: 3 this week"), or None."""
    if cap_day is not None and sent_today >= cap_day:
        return f"frequency cap: {sent_today} today"
    if cap_week is not None and sent_this_week >= cap_week:
        return f"frequency cap: {sent_this_week} this week"
    return None
