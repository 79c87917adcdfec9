"""Unit tests for the store's pure parts: retry decisions, backoff, amount column conversions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from gamepay.store.retries import is_retryable, retry_delay
from gamepay.store.sql import BigSumAggregate
from gamepay.store.types import Amount, UTCDateTime


class _Orig(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def test_retryable_errors() -> None:
    """Serialization failures, deadlocks and a locked SQLite database are retried; others not."""
    assert is_retryable(OperationalError("x", {}, _Orig("serialize", "40001")))
    assert is_retryable(OperationalError("x", {}, _Orig("deadlock", "40P01")))
    assert is_retryable(OperationalError("x", {}, _Orig("database is locked")))
    assert not is_retryable(OperationalError("x", {}, _Orig("unique", "23505")))
    assert not is_retryable(ValueError("database is locked"))


def test_retry_delay_is_capped_and_grows() -> None:
    """Backoff doubles from 5 ms and never exceeds the cap; jitter scales it into [0.5, 1)."""
    assert retry_delay(1, 0.0) == pytest.approx(0.0025)
    assert retry_delay(2, 0.0) == pytest.approx(0.005)
    assert retry_delay(30, 0.999) <= 0.25
    assert retry_delay(30, 0.0) == pytest.approx(0.125)


def test_amount_column_conversions() -> None:
    """Ints go to text on SQLite and Decimal on PostgreSQL and come back as exact ints."""
    col = Amount()
    big = 2**256 - 1
    assert col.process_bind_param(big, sqlite.dialect()) == str(big)
    assert col.process_bind_param(-big, postgresql.dialect()) == Decimal(-big)
    assert col.process_result_value(str(-big), sqlite.dialect()) == -big
    assert col.process_result_value(Decimal(big), postgresql.dialect()) == big
    assert col.process_bind_param(None, sqlite.dialect()) is None
    with pytest.raises(TypeError):
        col.process_bind_param(1.5, sqlite.dialect())


def test_utc_datetime_column() -> None:
    """Aware times are stored as UTC and read back aware; naive times are refused."""
    col = UTCDateTime()
    local = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=8)))
    stored = col.process_bind_param(local, sqlite.dialect())
    assert stored == datetime(2026, 1, 1, 4)
    assert col.process_result_value(stored, sqlite.dialect()) == local
    assert col.process_result_value(stored, sqlite.dialect()).tzinfo is UTC  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        col.process_bind_param(datetime(2026, 1, 1), sqlite.dialect())


def test_big_sum_aggregate() -> None:
    """The SQLite aggregate sums texts exactly and is NULL over nothing."""
    agg = BigSumAggregate()
    assert agg.finalize() is None
    for value in (str(2**255), str(2**255), None, "-1", 3):
        agg.step(value)
    assert agg.finalize() == str(2**256 + 2)
