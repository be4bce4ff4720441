"""A store's quiet hours and marketing frequency cap as the Routing page edits them: parsed and
checked here (pure), stored by route_store, applied at send time by dispatch/marketing_gate."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from webapp.consent.marketing_limits import parse_hhmm

MAX_CAP = 1000  # messages a customer could be sent in a day or a week; above it is a typo


@dataclass(frozen=True)
class SendLimits:
    quiet_start: str | None = None  # "HH:MM", in the customer's timezone
    quiet_end: str | None = None
    cap_day: int | None = None  # marketing messages per customer; None: no cap
    cap_week: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def limits_of(store) -> SendLimits:
    return SendLimits(store.quiet_hours_start, store.quiet_hours_end, store.marketing_cap_day,
                      store.marketing_cap_week)


def parse_limits(quiet_start: str, quiet_end: str, cap_day: str, cap_week: str) -> SendLimits:
    """The limits as typed on the form; ValueError naming what to fix."""
    start, end = _clock(quiet_start), _clock(quiet_end)
    if bool(start) != bool(end):
        raise ValueError("Quiet hours need both a start and an end, or neither.")
    for label, value in (("start", start), ("end", end)):
        if value and parse_hhmm(value) is None:
            raise ValueError(f"Quiet hours {label} must be a time as HH:MM on a 24-hour clock, such as 21:00.")
    if start and start == end:
        raise ValueError("Quiet hours cannot start and end at the same time; leave both empty for none.")
    day, week = _cap(cap_day, "a day"), _cap(cap_week, "a week")
    if day is not None and week is not None and day > week:
        raise ValueError(f"The daily cap ({day}) is above the weekly cap ({week}), so it could never apply.")
    return SendLimits(start or None, end or None, day, week)


def _clock(value: str) -> str:
    value = (value or "").strip()
    return f"0{value}" if len(value) == 4 and value[1] == ":" else value  # 9:30 is 09:30


def _cap(value: str, period: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_CAP:
        raise ValueError(f"Marketing messages {period} must be a whole number from 1 to {MAX_CAP}, "
                         "or empty for no cap.")
    return int(value)
