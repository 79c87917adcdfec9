"""Reward periods: local-calendar periods as half-open UTC intervals, across DST changes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.errors import ConfigError, PeriodNotClosed
from gamepay.rewards.periods import (
    Schedule,
    check_timezone,
    closed_periods,
    period_containing,
    period_starting,
    require_closed,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def test_berlin_spring_forward_day_is_23_hours() -> None:
    """2026-03-29 in Berlin (CET -> CEST) starts 23:00Z the day before and lasts 23 hours."""
    day = period_starting(Schedule.DAILY, date(2026, 3, 29), BERLIN)
    assert day.start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert day.end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert day.end - day.start == timedelta(hours=23)
    assert day.key == "2026-03-29"


def test_new_york_fall_back_day_is_25_hours() -> None:
    """2026-11-01 in New York (EDT -> EST) lasts 25 hours, from 04:00Z to 05:00Z next day."""
    day = period_starting(Schedule.DAILY, date(2026, 11, 1), NEW_YORK)
    assert day.start == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert day.end == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert day.end - day.start == timedelta(hours=25)


def test_month_across_dst_change_in_berlin() -> None:
    """October 2026 in Berlin starts at 22:00Z (CEST) and ends at 23:00Z (CET)."""
    month = period_starting(Schedule.MONTHLY, date(2026, 10, 17), BERLIN)
    assert month.key == "2026-10-01"
    assert month.start == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    assert month.end == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    late = datetime(2026, 10, 31, 22, 59, 59, 999999, tzinfo=UTC)  # 23:59:59 CET, Oct 31
    assert period_containing(Schedule.MONTHLY, late, BERLIN) == month
    first_of_nov = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert period_containing(Schedule.MONTHLY, first_of_nov, BERLIN).key == "2026-11-01"


def test_december_rolls_into_january() -> None:
    """The monthly period after December starts on January 1 of the next year."""
    dec = period_starting(Schedule.MONTHLY, date(2026, 12, 5), ZoneInfo("UTC"))
    assert dec.end == datetime(2027, 1, 1, tzinfo=UTC)


def test_weekly_periods_start_on_the_configured_weekday() -> None:
    """A week starting Sunday (6) containing Wednesday 2026-11-04 starts on Sunday 11-01."""
    week = period_starting(Schedule.WEEKLY, date(2026, 11, 4), NEW_YORK, week_start=6)
    assert week.key == "2026-11-01"
    assert week.end - week.start == timedelta(days=7, hours=1)  # contains the fall-back hour
    monday = period_starting(Schedule.WEEKLY, date(2026, 11, 4), NEW_YORK)
    assert monday.key == "2026-11-02"


def test_skipped_local_midnight_starts_at_the_first_instant_of_the_day() -> None:
    """Where clocks jump 00:00 -> 01:00 (Havana, 2026-03-08) the day starts at 05:00Z."""
    havana = ZoneInfo("America/Havana")
    day = period_starting(Schedule.DAILY, date(2026, 3, 8), havana)
    before = period_starting(Schedule.DAILY, date(2026, 3, 7), havana)
    assert before.end == day.start
    assert day.start == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert day.start.astimezone(havana).hour == 1
    assert period_containing(Schedule.DAILY, day.start, havana) == day
    assert (
        period_containing(Schedule.DAILY, day.start - timedelta(microseconds=1), havana) == before
    )


def test_closed_periods_stop_before_the_open_one() -> None:
    """closed_periods yields every ended period from the start date, and not the current one."""
    now = datetime(2026, 3, 30, 21, 59, tzinfo=UTC)  # 23:59 CEST on March 30: still open
    got = list(closed_periods(Schedule.DAILY, date(2026, 3, 27), now, BERLIN))
    assert [p.key for p in got] == ["2026-03-27", "2026-03-28", "2026-03-29"]
    assert all(a.end == b.start for a, b in itertools.pairwise(got))
    at_end = datetime(2026, 3, 30, 22, 0, tzinfo=UTC)
    assert [p.key for p in closed_periods(Schedule.DAILY, date(2026, 3, 30), at_end, BERLIN)] == [
        "2026-03-30"
    ]


def test_require_closed_refuses_an_open_period() -> None:
    """An open period raises PeriodNotClosed; at its exact end it is closed."""
    month = period_starting(Schedule.MONTHLY, date(2026, 11, 1), BERLIN)
    with pytest.raises(PeriodNotClosed):
        require_closed(month, month.end - timedelta(microseconds=1))
    assert require_closed(month, month.end) is month


def test_naive_now_and_unknown_zone_are_config_errors() -> None:
    """A naive 'now' and an unknown zone name are refused with ConfigError."""
    month = period_starting(Schedule.MONTHLY, date(2026, 11, 1), BERLIN)
    with pytest.raises(ConfigError):
        month.closed(datetime(2026, 12, 5))
    with pytest.raises(ConfigError):
        check_timezone("Mars/Olympus_Mons")


ZONES = st.sampled_from(
    ["UTC", "Europe/Berlin", "America/New_York", "America/Havana", "Australia/Lord_Howe"]
)


@given(
    instant=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    zone=ZONES,
    schedule=st.sampled_from(list(Schedule)),
    week_start=st.integers(0, 6),
)
def test_periods_tile_time(
    instant: datetime, zone: str, schedule: Schedule, week_start: int
) -> None:
    """Every instant is in exactly one period; neighbours meet with no gap and no overlap."""
    tz = ZoneInfo(zone)
    period = period_containing(schedule, instant, tz, week_start)
    assert period.start <= instant < period.end
    after = period_containing(schedule, period.end, tz, week_start)
    before = period_containing(schedule, period.start - timedelta(microseconds=1), tz, week_start)
    assert after.start == period.end
    assert before.end == period.start
    assert period_starting(schedule, period.first_day, tz, week_start) == period
