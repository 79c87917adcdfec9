"""When to retry a KryptoGO call, as a pure decision: no clock, no randomness, no I/O.

``RetryPolicy.decide(attempt, outcome, safe=..., jitter=...)`` returns the delay in seconds
before the next attempt, or ``None`` to stop. The caller draws ``jitter`` (a float in [0, 1))
from whatever source it was given, so tests can pin it.

- A **safe** call (a GET: reading twice changes nothing) is retried on transport errors and
  timeouts, 408, 429 and every 5xx.
- An **unsafe** call (creating an intent, moving money) is retried only when the request
  certainly never reached the server (``Outcome.sent`` is False: the connection was never
  made). Anything else stops it: the caller turns an unknown outcome into
  ``OutcomeUnknownError`` and a definite refusal into its ``APIError``.
- The delay is capped exponential backoff with "equal jitter":
  ``min(max_delay, base_delay * 2**(attempt-1)) * (0.5 + jitter/2)``. On 429 and 503 a
  ``Retry-After`` is honoured (the delay is at least that long); one longer than
  ``max_retry_after`` stops the retries instead.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass

from gamepay.errors import ConfigError

__all__ = ["RETRYABLE_STATUSES", "Outcome", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({408, 429})
"""Non-5xx statuses a safe call is retried on (every 5xx is, too)."""

_RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt ended with, as far as the retry decision cares.

    ``status`` is the HTTP status when an answer arrived (None for a transport failure);
    ``sent`` is False only when the request certainly never reached the server;
    ``retry_after`` is the server's requested wait in seconds, if it sent one.
    """

    status: int | None = None
    sent: bool = True
    retry_after: float | None = None

    @property
    def retryable_if_safe(self) -> bool:
        """Whether a safe (idempotent) call may be tried again after this outcome."""
        if self.status is None:
            return True
        return self.status >= 500 or self.status in RETRYABLE_STATUSES


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with jitter; ``max_attempts`` counts the first try too."""

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        """Refuse nonsensical settings with a typed error."""
        if type(self.max_attempts) is not int or self.max_attempts < 1:
            raise ConfigError("RetryPolicy.max_attempts must be an int >= 1")
        for name in ("base_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ConfigError(f"RetryPolicy.{name} must be a number >= 0")

    def backoff(self, attempt: int, jitter: float) -> float:
        """Return the jittered backoff after failed attempt number ``attempt`` (1-based)."""
        if not 0.0 <= jitter < 1.0:
            raise ValueError("jitter must be in [0, 1)")
        exponent = min(attempt - 1, 62)  # keeps 2**n finite; max_delay caps it anyway
        capped = min(self.max_delay, self.base_delay * 2.0**exponent)
        return capped * (0.5 + jitter / 2.0)

    def decide(self, attempt: int, outcome: Outcome, *, safe: bool, jitter: float) -> float | None:
        """Return the delay before attempt ``attempt + 1``, or None to stop retrying.

        ``attempt`` is the 1-based number of the attempt that just ended with ``outcome``;
        ``safe`` says whether repeating the call could not create or move anything twice.
        """
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        if attempt >= self.max_attempts:
            return None
        if safe:
            if not outcome.retryable_if_safe:
                return None
        elif outcome.sent:
            return None
        delay = self.backoff(attempt, jitter)
        if outcome.retry_after is not None and outcome.status in _RETRY_AFTER_STATUSES:
            if outcome.retry_after > self.max_retry_after:
                return None
            delay = max(delay, outcome.retry_after)
        return delay


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Parse a ``Retry-After`` header (seconds, or an HTTP date) into seconds from ``now``.

    Returns None when the header is absent or unreadable; never negative.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value[:12]))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)
