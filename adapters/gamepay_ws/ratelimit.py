"""A token bucket (pure: the caller passes the time) for per-connection rate limiting."""

from __future__ import annotations

from gamepay.errors import ConfigError

__all__ = ["TokenBucket"]


class TokenBucket:
    """Allows bursts of ``capacity`` messages and ``rate`` messages per second on average."""

    __slots__ = ("_last", "_tokens", "capacity", "rate")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        if capacity < 1 or rate <= 0:
            raise ConfigError("a token bucket needs capacity >= 1 and rate > 0")
        self.capacity = float(capacity)
        self.rate = float(rate)
        self._tokens = float(capacity)
        self._last = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one at ``now``; return whether the message may pass."""
        if now > self._last:
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    @property
    def tokens(self) -> float:
        """Tokens left as of the last call (for tests and metrics)."""
        return self._tokens
