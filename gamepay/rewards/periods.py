"""Reward periods: daily, weekly or monthly in an IANA time zone, as half-open UTC intervals.

A period starts at local midnight of its first day and ends at local midnight of the first day
of the next period, so consecutive periods tile time exactly, across DST changes too (a local
day is 23 or 25 hours long on those days). Where local midnight does not exist (a zone that
springs forward at 00:00) the period starts at the first instant of the day. A period is named
by its first local date in ISO form (``"2026-11-01"``); that key goes into reward transfer ids.
Pure: no clock is read here, ``now`` is always a parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gamepay.errors import ConfigError, PeriodNotClosed

__all__ = [
    "Period",
    "Schedule",
    "check_timezone",
    "closed_periods",
    "period_containing",
    "period_starting",
    "require_closed",
]


class Schedule(StrEnum):
    """How long a reward period is."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True, slots=True)
class Period:
    """One reward period: its key (first local date) and ``[start, end)`` in UTC."""

    key: str
    first_day: date
    start: datetime
    end: datetime

    def closed(self, now: datetime) -> bool:
        """True once ``now`` (aware) has reached the end of the period."""
        return _aware(now) >= self.end


def check_timezone(name: str) -> ZoneInfo:
    """Return the zone named ``name`` or raise ConfigError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ConfigError(f"unknown IANA time zone: {name!r}") from exc


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ConfigError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of local ``day`` in UTC (fold=0 maps a skipped midnight forward)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _first_day(schedule: Schedule, day: date, week_start: int) -> date:
    if schedule is Schedule.DAILY:
        return day
    if schedule is Schedule.WEEKLY:
        return day - timedelta(days=(day.weekday() - week_start) % 7)
    return day.replace(day=1)


def _next_first_day(schedule: Schedule, first: date) -> date:
    if schedule is Schedule.DAILY:
        return first + timedelta(days=1)
    if schedule is Schedule.WEEKLY:
        return first + timedelta(days=7)
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def period_starting(schedule: Schedule, first: date, zone: ZoneInfo, week_start: int = 0) -> Period:
    """The period whose local first day is the period containing ``first``."""
    first = _first_day(schedule, first, week_start)
    start = _local_midnight(first, zone)
    end = _local_midnight(_next_first_day(schedule, first), zone)
    return Period(key=first.isoformat(), first_day=first, start=start, end=end)


def period_containing(
    schedule: Schedule, instant: datetime, zone: ZoneInfo, week_start: int = 0
) -> Period:
    """The period that contains the aware ``instant``."""
    local_day = _aware(instant).astimezone(zone).date()
    period = period_starting(schedule, local_day, zone, week_start)
    if _aware(instant) < period.start:  # only possible inside a skipped local midnight
        period = period_starting(schedule, local_day - timedelta(days=1), zone, week_start)
    return period


def closed_periods(
    schedule: Schedule, since: date, now: datetime, zone: ZoneInfo, week_start: int = 0
) -> Iterator[Period]:
    """Every period from the one containing local date ``since`` that has ended by ``now``."""
    now = _aware(now)
    period = period_starting(schedule, since, zone, week_start)
    while period.end <= now:
        yield period
        period = period_starting(
            schedule, _next_first_day(schedule, period.first_day), zone, week_start
        )


def require_closed(period: Period, now: datetime) -> Period:
    """Return ``period`` if it has ended by ``now``, else raise PeriodNotClosed."""
    if not period.closed(now):
        raise PeriodNotClosed(
            f"period {period.key} ends at {period.end.isoformat()}; it is still open"
        )
    return period
