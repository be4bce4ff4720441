"""When campaign messages are due: send windows, local-time delivery, the start of a send."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from webapp.campaigns.schedule import due_at, in_window, next_open, parse_window, start_at

NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}


def test_a_window_that_never_opens_is_refused_naming_the_field():
    assert parse_window({"days": [], "start": "09:00", "end": "18:00"})[1][0][0] == "send_window.days"
    assert parse_window({"days": [1], "start": "18:00", "end": "09:00"})[1][0][0] == "send_window.end"
    assert parse_window({"days": [9], "start": "9", "end": "x"})[1][0][0] == "send_window.days"
    assert parse_window(None) == (None, [])


def test_outside_the_window_sending_waits_for_the_next_opening_in_the_stores_zone():
    window, _ = parse_window(WEEKDAYS)
    friday_evening = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)  # 18:30 in New York
    assert not in_window(window, friday_evening, NEW_YORK)
    opens = next_open(window, friday_evening, NEW_YORK)
    assert opens.astimezone(NEW_YORK) == datetime(2026, 12, 7, 9, 0, tzinfo=NEW_YORK)  # Monday
    assert in_window(window, opens, NEW_YORK)


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)))
def test_the_next_opening_is_never_before_now_and_always_open(naive):
    window, _ = parse_window(WEEKDAYS)
    moment = naive.replace(tzinfo=UTC)
    opens = next_open(window, moment, NEW_YORK)
    assert opens >= moment and in_window(window, opens, NEW_YORK)


def test_local_time_sends_at_the_same_wall_clock_hour_in_each_recipients_zone():
    nine_in_new_york = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
    now = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
    berlin = due_at(nine_in_new_york, True, NEW_YORK, "Europe/Berlin", now)
    tokyo = due_at(nine_in_new_york, True, NEW_YORK, "Asia/Tokyo", now)
    assert berlin.astimezone(ZoneInfo("Europe/Berlin")).hour == 9
    assert tokyo.astimezone(ZoneInfo("Asia/Tokyo")).hour == 9
    assert due_at(nine_in_new_york, True, NEW_YORK, None, now) == nine_in_new_york  # the store's zone
    assert due_at(nine_in_new_york, True, NEW_YORK, "Not/AZone", now) == nine_in_new_york
    # The send starts when 09:00 first arrives anywhere (UTC+14), before every recipient's hour.
    starts = start_at(nine_in_new_york, True, NEW_YORK, now)
    assert starts == datetime(2026, 12, 9, 19, 0, tzinfo=UTC) and starts <= tokyo


def test_an_hour_already_passed_is_due_at_once_and_plain_schedules_are_exact():
    now = datetime(2026, 12, 10, 20, 0, tzinfo=UTC)
    nine_in_new_york = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
    assert due_at(nine_in_new_york, True, NEW_YORK, "Asia/Tokyo", now) == now
    assert due_at(nine_in_new_york, False, NEW_YORK, "Asia/Tokyo", now - timedelta(days=1)) == nine_in_new_york
    assert due_at(None, False, NEW_YORK, None, now) == now
