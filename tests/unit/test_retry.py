"""The retry decision: which outcomes retry, for safe and unsafe calls, and how long to wait."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.errors import ConfigError
from gamepay.kryptogo.retry import Outcome, RetryPolicy, parse_retry_after

POLICY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=5.0, max_retry_after=30.0)
NOT_SENT = Outcome(status=None, sent=False)
TRANSPORT_AFTER_SEND = Outcome(status=None, sent=True)


@pytest.mark.parametrize(
    "outcome",
    [
        NOT_SENT,
        TRANSPORT_AFTER_SEND,
        Outcome(status=408),
        Outcome(status=429),
        Outcome(status=500),
        Outcome(status=502),
        Outcome(status=503),
        Outcome(status=504),
    ],
)
def test_safe_call_retries_transport_errors_429_and_5xx(outcome: Outcome) -> None:
    """A GET is retried on transport errors, timeouts, 408, 429 and every 5xx."""
    assert POLICY.decide(1, outcome, safe=True, jitter=0.0) == 0.5


@pytest.mark.parametrize("status", [200, 301, 400, 401, 403, 404, 409, 422])
def test_safe_call_does_not_retry_definite_answers(status: int) -> None:
    """A GET refused with a 4xx (other than 408/429) is not retried."""
    assert POLICY.decide(1, Outcome(status=status), safe=True, jitter=0.5) is None


def test_unsafe_call_retries_only_when_never_sent() -> None:
    """A create/transfer is retried only when the connection was never made."""
    assert POLICY.decide(1, NOT_SENT, safe=False, jitter=0.0) == 0.5
    assert POLICY.decide(1, TRANSPORT_AFTER_SEND, safe=False, jitter=0.0) is None
    for status in (400, 401, 404, 408, 429, 500, 502, 503, 504):
        outcome = Outcome(status=status, retry_after=1.0)
        assert POLICY.decide(1, outcome, safe=False, jitter=0.0) is None, status


def test_attempts_are_capped() -> None:
    """No retry once max_attempts attempts were made; max_attempts=1 never retries."""
    assert POLICY.decide(3, NOT_SENT, safe=True, jitter=0.0) is not None
    assert POLICY.decide(4, NOT_SENT, safe=True, jitter=0.0) is None
    assert POLICY.decide(9, NOT_SENT, safe=False, jitter=0.0) is None
    assert RetryPolicy(max_attempts=1).decide(1, NOT_SENT, safe=True, jitter=0.0) is None


def test_backoff_doubles_then_caps() -> None:
    """Backoff doubles per attempt up to max_delay; jitter spans half to all of it."""
    assert [POLICY.backoff(n, 0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 2.5, 2.5]
    assert POLICY.backoff(2, 0.5) == 1.5
    assert POLICY.backoff(2, 0.999) == pytest.approx(1.999)
    assert POLICY.backoff(10_000, 0.0) == 2.5
    with pytest.raises(ValueError):
        POLICY.backoff(1, 1.0)
    with pytest.raises(ValueError):
        POLICY.backoff(1, -0.1)


def test_retry_after_is_honoured_on_429_and_503_only() -> None:
    """Retry-After lengthens the wait on 429/503, is ignored on 500, and a huge one stops."""
    assert POLICY.decide(1, Outcome(status=429, retry_after=7.0), safe=True, jitter=0.0) == 7.0
    assert POLICY.decide(1, Outcome(status=503, retry_after=3.0), safe=True, jitter=0.0) == 3.0
    assert POLICY.decide(1, Outcome(status=500, retry_after=7.0), safe=True, jitter=0.0) == 0.5
    # a shorter Retry-After never shortens the backoff
    assert POLICY.decide(3, Outcome(status=429, retry_after=0.0), safe=True, jitter=0.0) == 2.0
    assert POLICY.decide(1, Outcome(status=429, retry_after=31.0), safe=True, jitter=0.0) is None


def test_policy_refuses_nonsense() -> None:
    """Bad policy settings are typed configuration errors; attempt numbers are 1-based."""
    with pytest.raises(ConfigError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigError):
        RetryPolicy(base_delay=-1.0)
    with pytest.raises(ConfigError):
        RetryPolicy(max_delay=float("nan"))
    with pytest.raises(ValueError):
        POLICY.decide(0, NOT_SENT, safe=True, jitter=0.0)


def test_parse_retry_after() -> None:
    """Seconds and HTTP dates both parse; junk and absence give None; never negative."""
    now = 1_700_000_000.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("5", now) == 5.0
    assert parse_retry_after(" 12 ", now) == 12.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-3", now) is None
    date = email.utils.formatdate(now + 10, usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(10.0)
    past = email.utils.formatdate(now - 100, usegmt=True)
    assert parse_retry_after(past, now) == 0.0


outcomes = st.builds(
    Outcome,
    status=st.none() | st.integers(100, 599),
    sent=st.booleans(),
    retry_after=st.none() | st.floats(0, 100, allow_nan=False),
)
policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 10),
    base_delay=st.floats(0, 10, allow_nan=False),
    max_delay=st.floats(0, 60, allow_nan=False),
    max_retry_after=st.floats(0, 60, allow_nan=False),
)


@given(
    policy=policies,
    attempt=st.integers(1, 20),
    outcome=outcomes,
    safe=st.booleans(),
    jitter=st.floats(0, 1, exclude_max=True),
)
def test_decision_invariants(
    policy: RetryPolicy, attempt: int, outcome: Outcome, safe: bool, jitter: float
) -> None:
    """Any retry waits within bounds; an unsafe call that may have been sent is never retried."""
    delay = policy.decide(attempt, outcome, safe=safe, jitter=jitter)
    if not safe and outcome.sent:
        assert delay is None
    if attempt >= policy.max_attempts:
        assert delay is None
    if delay is not None:
        assert delay >= 0
        limit = max(policy.max_delay, policy.max_retry_after)
        assert delay <= limit
        if outcome.retry_after is not None and outcome.status in (429, 503):
            assert delay >= outcome.retry_after
