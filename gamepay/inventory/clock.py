"""The inventory's clock: the current time as an aware UTC datetime, for lots and trades."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from gamepay.errors import InvalidInput

__all__ = ["read_clock", "utc_now"]


def utc_now() -> datetime:
    """The system clock's current time in UTC (the default clock)."""
    return datetime.now(UTC)


def read_clock(clock: Callable[[], datetime], owner: str) -> datetime:
    """``clock()`` in UTC; InvalidInput naming ``owner``'s clock when it returns a naive time."""
    now = clock()
    if now.tzinfo is None:
        raise InvalidInput(f"the {owner} clock must return timezone-aware datetimes")
    return now.astimezone(UTC)
