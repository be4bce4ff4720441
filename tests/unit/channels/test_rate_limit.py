"""Sending limits from untrusted JSON: every problem names its entry, and nothing half-valid is kept."""
from __future__ import annotations

import pytest

from webapp.channels.rate_limit import Limit, as_json, describe, parse_limits


def test_valid_limits_come_back_shortest_window_first():
    limits, problems = parse_limits([{"per": "day", "limit": 10000}, {"per": "second", "limit": 5},
                                     {"per": "minute", "limit": 600}])
    assert problems == []
    assert limits == [Limit("second", 5), Limit("minute", 600), Limit("day", 10000)]
    assert describe(limits) == "5 a second · 600 a minute · 10,000 a day"
    assert as_json(limits) == [{"per": "second", "limit": 5}, {"per": "minute", "limit": 600},
                               {"per": "day", "limit": 10000}]


@pytest.mark.parametrize("raw", [None, []])
def test_nothing_is_no_limit(raw):
    assert parse_limits(raw) == ([], [])
    assert as_json([]) is None


@pytest.mark.parametrize(("raw", "problem"), [
    ({"per": "minute", "limit": 600}, 'rate_limits must be a list like [{"per": "minute", "limit": 600}]'),
    ("600/min", 'rate_limits must be a list like [{"per": "minute", "limit": 600}]'),
    ([{"per": "minute", "limit": 60}] * 4, "rate_limits may have at most 3 entries, one per window"),
    ([{"per": "minute", "limit": 600}, {"per": "day", "limit": 0}],
     "rate_limits[1].limit must be a whole number from 1 to 1000000"),
    ([{"per": "day", "limit": 1_000_001}], "rate_limits[0].limit must be a whole number from 1 to 1000000"),
    ([{"per": "day", "limit": 2.5}], "rate_limits[0].limit must be a whole number from 1 to 1000000"),
    ([{"per": "day", "limit": "600"}], "rate_limits[0].limit must be a whole number from 1 to 1000000"),
    ([{"per": "day", "limit": True}], "rate_limits[0].limit must be a whole number from 1 to 1000000"),
    ([{"per": "day"}], "rate_limits[0].limit must be a whole number from 1 to 1000000"),
    ([{"per": "hour", "limit": 5}], "rate_limits[0].per must be one of second, minute, day"),
    ([{"limit": 5}], "rate_limits[0].per must be one of second, minute, day"),
    ([5], 'rate_limits[0] must be an object like {"per": "minute", "limit": 600}'),
    ([{"per": "minute", "limit": 5, "burst": 9}], "rate_limits[0] has unknown field burst"),
    ([{"per": "minute", "limit": 600}, {"per": "minute", "limit": 60}],
     "rate_limits[1].per: minute is already limited by rate_limits[0]"),
])
def test_each_problem_names_its_entry_and_nothing_is_kept(raw, problem):
    limits, problems = parse_limits(raw)
    assert limits == []
    assert problems == [problem]


def test_every_problem_of_every_entry_is_listed():
    _, problems = parse_limits([{"per": "week", "limit": -1}, {"per": "day", "limit": 5}, "x"])
    assert problems == ["rate_limits[0].per must be one of second, minute, day",
                        "rate_limits[0].limit must be a whole number from 1 to 1000000",
                        'rate_limits[2] must be an object like {"per": "minute", "limit": 600}']
