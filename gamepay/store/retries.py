"""When a transaction is worth running again, and how long to wait first: the store's retry rule.

``is_retryable`` says whether an error ends a transaction that may succeed if run again
(serialization failure, deadlock, a busy SQLite database); ``retry_delay`` is the capped,
jittered backoff; ``Retrier`` runs an attempt again while it fails that way, up to a bound.
``Store.run``/``Store.read`` and the SQLite group commit all retry through one ``Retrier``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from gamepay.errors import ConcurrencyError

__all__ = ["Retrier", "is_retryable", "retry_delay"]

log = logging.getLogger("gamepay.store")

T = TypeVar("T")

_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def _driver_error(exc: BaseException) -> bool:
    """True for the drivers' own errors the ledger's hot paths may raise: SQLite's, and
    asyncpg's (the postgres extra: looked up only when something has loaded it already)."""
    if isinstance(exc, sqlite3.OperationalError):
        return True
    asyncpg = sys.modules.get("asyncpg")
    return asyncpg is not None and isinstance(exc, asyncpg.PostgresError)


_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def is_retryable(exc: BaseException) -> bool:
    """True for serialization failures, deadlocks and a busy SQLite database.

    Takes SQLAlchemy's wrapped errors and the drivers' own (the ledger's hot paths talk to
    aiosqlite and asyncpg directly).
    """
    if isinstance(exc, DBAPIError):
        orig: object = exc.orig
    elif _driver_error(exc):
        orig = exc
    else:
        return False
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _RETRYABLE_SQLSTATES:
        return True
    message = str(orig).lower()
    return any(text_ in message for text_ in _SQLITE_BUSY)


def retry_delay(attempt: int, jitter: float, *, base: float = 0.005, cap: float = 0.25) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): capped exponential, scaled by jitter.

    ``jitter`` is in [0, 1) and injected so the decision stays a pure function.
    """
    delay: float = min(cap, base * 2.0 ** (attempt - 1)) * (0.5 + jitter / 2)
    return delay


class Retrier:
    """Runs an attempt again, after ``retry_delay``, while it fails with a retryable error."""

    def __init__(self, max_retries: int, rng: random.Random | None = None) -> None:
        self.max_retries = max_retries
        self._rng = rng or random.Random()  # jitter only: not security-relevant

    async def __call__(self, attempt: Callable[[], Awaitable[T]], what: str) -> T:
        """``attempt()``'s result; ``ConcurrencyError`` after ``max_retries`` retries (``what``
        names the attempt in that message); any other error propagates unchanged."""
        tries = 0
        while True:
            try:
                return await attempt()
            except Exception as exc:
                if not is_retryable(exc):
                    raise
                tries += 1
                if tries > self.max_retries:
                    raise ConcurrencyError(
                        f"{what} still conflicting after {self.max_retries} retries"
                    ) from exc
                delay = retry_delay(tries, self._rng.random())
                log.debug("retrying %s (attempt %d) in %.3fs: %s", what, tries, delay, exc)
                await asyncio.sleep(delay)
