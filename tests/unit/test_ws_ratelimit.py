"""The token bucket: bursts up to capacity, then the sustained rate, never more."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.errors import ConfigError
from gamepay_ws.ratelimit import TokenBucket


def test_burst_then_refill() -> None:
    """Capacity messages pass at once; the next waits for the refill."""
    bucket = TokenBucket(3, 2, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.4) is False
    assert bucket.take(0.5) is True
    assert bucket.take(10.0) is True  # refill caps at capacity
    assert bucket.tokens == pytest.approx(2.0)


def test_bad_parameters_are_refused() -> None:
    """A bucket without capacity or rate is a configuration error."""
    with pytest.raises(ConfigError):
        TokenBucket(0, 1, now=0.0)
    with pytest.raises(ConfigError):
        TokenBucket(1, 0, now=0.0)


@given(
    capacity=st.integers(1, 50),
    rate=st.integers(1, 100),
    steps=st.lists(st.floats(0, 0.5, allow_nan=False), max_size=200),
)
def test_never_more_than_capacity_plus_rate_times_time(
    capacity: int, rate: int, steps: list[float]
) -> None:
    """Over any schedule, passes <= capacity + rate * elapsed (the bucket's promise)."""
    bucket = TokenBucket(capacity, rate, now=0.0)
    now = 0.0
    passed = 0
    for step in steps:
        now += step
        passed += bucket.take(now)
        assert passed <= capacity + rate * now + 1e-9
