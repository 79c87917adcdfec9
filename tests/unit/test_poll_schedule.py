"""The poller's schedule: exponential backoff, capped, and a poll right after the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gamepay.payments.poller import next_poll_at, poll_delay

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_backoff_doubles_then_caps() -> None:
    """5, 10, 20, 40 ... seconds, never above the cap."""
    assert [poll_delay(n, base=5, cap=60) for n in range(6)] == [5, 10, 20, 40, 60, 60]
    assert poll_delay(10_000, base=5, cap=60) == 60


def test_deadline_before_the_next_poll_wins() -> None:
    """An order whose deadline falls before its next backoff poll is polled just after it."""
    deadline = int(NOW.timestamp()) + 7
    at = next_poll_at(NOW, 3, deadline, base=5, cap=300)
    assert at == NOW + timedelta(seconds=8)
    passed = int(NOW.timestamp()) - 100  # overdue: plain backoff
    assert next_poll_at(NOW, 0, passed, base=5, cap=300) == NOW + timedelta(seconds=5)


@given(st.integers(0, 100), st.one_of(st.none(), st.integers(0, 2 * 10**9)))
def test_next_poll_is_in_the_future_and_bounded(attempts: int, deadline: int | None) -> None:
    """The next poll is after now and at most the cap away."""
    at = next_poll_at(NOW, attempts, deadline, base=1.5, cap=120)
    assert NOW < at <= NOW + timedelta(seconds=120)
