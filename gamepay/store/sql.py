"""SQL helpers that stay exact on both backends.

``big_sum(column)`` sums an ``Amount`` column exactly: PostgreSQL's ``sum()`` over NUMERIC, and on
SQLite the ``gp_big_sum`` aggregate (registered on every connection by the store) that adds the
decimal texts as Python ints and returns text. Like ``SUM``, it is NULL over no rows (wrap it in
``coalesce(big_sum(c), 0)`` if you want 0; ``Amount`` turns the result into an ``int``).
``utc_day(column)`` is a timestamp's UTC day as ``YYYY-MM-DD`` text (for per-day counts).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from gamepay.store.types import Amount

__all__ = ["SQLITE_BIG_SUM", "BigSumAggregate", "big_sum", "utc_day"]

SQLITE_BIG_SUM = "gp_big_sum"
"""The name of the exact sum aggregate registered on SQLite connections."""


class big_sum(FunctionElement[int]):
    """An exact ``SUM`` of an amount column, typed ``Amount`` (result is an ``int`` or None)."""

    type = Amount()
    name = "big_sum"
    inherit_cache = True


@compiles(big_sum)
def _big_sum_default(element: big_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(big_sum, "sqlite")
def _big_sum_sqlite(element: big_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_BIG_SUM}({compiler.process(element.clauses, **kw)})"


class BigSumAggregate:
    """The SQLite aggregate behind ``big_sum``: exact int sum of decimal texts, as text."""

    def __init__(self) -> None:
        self.total = 0
        self.seen = False

    def step(self, value: object) -> None:
        """Add one value (decimal text or an int); NULLs are skipped like SUM does."""
        if value is None:
            return
        self.total += int(value)  # type: ignore[call-overload]
        self.seen = True

    def finalize(self) -> str | None:
        """The exact total as decimal text, or NULL when no non-NULL value was seen."""
        return str(self.total) if self.seen else None


class utc_day(FunctionElement[str]):
    """The UTC day (``YYYY-MM-DD`` text) of a ``UTCDateTime`` column, on both backends."""

    type = String()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"  # naive UTC text
