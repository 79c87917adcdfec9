"""The one ``MetaData`` every gamepay table is defined on, and the shared id column type."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData

__all__ = ["SEQ", "metadata"]

metadata = MetaData()
"""All of gamepay's tables (the migrations create them explicitly; tests compare the two)."""

SEQ = BigInteger().with_variant(Integer(), "sqlite")
"""An auto-incrementing id: BIGINT on PostgreSQL, INTEGER (the rowid) on SQLite."""
