"""Column types that keep money and time exact on both backends.

``Amount``: ``NUMERIC(78,0)`` on PostgreSQL (asyncpg's ``Decimal`` becomes ``int``), decimal text
on SQLite (its INTEGER is 64-bit and its NUMERIC turns into a float); both hold any int with up to
78 digits, negative too (balances of system accounts). ``UTCDateTime``: timezone-aware UTC in
and out (SQLite stores naive UTC text).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["Amount", "UTCDateTime"]


class Amount(TypeDecorator[int]):
    """An exact integer amount of base units: NUMERIC(78,0) on PostgreSQL, text on SQLite."""

    impl = Numeric(78, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Text on SQLite, NUMERIC(78,0) elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(78, 0, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Ints go in as decimal text (SQLite) or Decimal (PostgreSQL); never through float."""
        if value is None:
            return None
        if type(value) is not int:
            integral = isinstance(value, Decimal) and value == value.to_integral_value()
            if integral or isinstance(value, str):
                value = int(value)
            else:
                raise TypeError(f"amount column takes an int, not {type(value).__name__}")
        if dialect.name == "sqlite":
            return str(value)
        return Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        """Back to an exact int."""
        if value is None:
            return None
        return int(value)

    @property
    def python_type(self) -> type[int]:
        """Amounts are ints."""
        return int


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp (TIMESTAMP WITH TIME ZONE; naive UTC text on SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Refuse naive datetimes; store UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise TypeError("timestamps must be timezone-aware datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Always an aware UTC datetime."""
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        """Timestamps are datetimes."""
        return datetime
