"""Quiet hours in the customer's timezone, across midnight and DST, and the frequency cap."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from webapp.consent.marketing_limits import cap_reason, parse_hhmm, quiet_until, zone

UTC = UTC
BERLIN = ZoneInfo("Europe/Berlin")


def test_inside_quiet_hours_spanning_midnight_waits_until_the_morning():
    late = datetime(2026, 12, 1, 22, 30, tzinfo=BERLIN)
    assert quiet_until(late, "21:00", "08:00", BERLIN) == datetime(2026, 12, 2, 8, 0, tzinfo=BERLIN)
    early = datetime(2026, 12, 2, 6, 0, tzinfo=BERLIN)
    assert quiet_until(early, "21:00", "08:00", BERLIN) == datetime(2026, 12, 2, 8, 0, tzinfo=BERLIN)


def test_outside_quiet_hours_or_without_them_nothing_waits():
    noon = datetime(2026, 12, 1, 12, 0, tzinfo=BERLIN)
    assert quiet_until(noon, "21:00", "08:00", BERLIN) is None
    assert quiet_until(noon, None, "08:00", BERLIN) is None
    assert quiet_until(noon, "12:00", "12:00", BERLIN) is None


def test_quiet_hours_are_the_customers_local_time():
    # 23:00 UTC is midnight in Berlin (quiet) but 18:00 in New York (not).
    now = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert quiet_until(now, "21:00", "08:00", BERLIN) is not None
    assert quiet_until(now, "21:00", "08:00", ZoneInfo("America/New_York")) is None


def test_daytime_quiet_hours_end_the_same_day():
    now = datetime(2026, 12, 1, 13, 0, tzinfo=BERLIN)
    assert quiet_until(now, "12:00", "14:00", BERLIN) == datetime(2026, 12, 1, 14, 0, tzinfo=BERLIN)
    assert quiet_until(datetime(2026, 12, 1, 14, 0, tzinfo=BERLIN), "12:00", "14:00", BERLIN) is None


def test_an_unknown_timezone_falls_back_to_the_stores():
    assert zone("Mars/Olympus", "Europe/Berlin") == BERLIN
    assert zone(None, "Nowhere") == ZoneInfo("UTC")
    assert parse_hhmm("24:00") is None and parse_hhmm("7:00") is None and parse_hhmm("07:05").minute == 5


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
       st.integers(0, 23), st.integers(0, 23))
def test_a_held_message_is_released_at_a_time_outside_quiet_hours(now, start, end):
    begin, finish = f"{start:02d}:00", f"{end:02d}:00"
    until = quiet_until(now, begin, finish, BERLIN)
    if until is not None:
        assert until > now
        assert quiet_until(until, begin, finish, BERLIN) is None or until.astimezone(BERLIN).hour != end


def test_the_frequency_cap_names_the_count_that_holds():
    assert cap_reason(3, 3, 3, None) == "frequency cap: 3 today"
    assert cap_reason(1, 3, 5, 3) == "frequency cap: 3 this week"
    assert cap_reason(2, 2, 3, 3) is None
    assert cap_reason(9, 9, None, None) is None


def test_a_customer_without_a_timezone_takes_the_stores():
    # Quiet hours of a customer with no zone of their own are the store's, not UTC's.
    assert zone(None, "America/New_York").key == "America/New_York"
    assert zone("", "Europe/Paris").key == "Europe/Paris"
    assert zone("Not/AZone", "Europe/Paris").key == "Europe/Paris"
    assert zone(None, "Nowhere/Else").key == "UTC"
