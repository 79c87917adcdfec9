"""``RowInsert``: whole-row INSERTs into one table, built once, one round trip per call.

On PostgreSQL a call is one Core statement. On SQLite it goes straight to the aiosqlite connection
under the caller's ``AsyncConnection`` (same transaction): one thread hop instead of the three or
four of SQLAlchemy's aiosqlite cursor, which is most of the cost of a small write on SQLite. The
values are encoded by the columns' own bind processors (``Amount`` as decimal text,
``UTCDateTime`` as naive UTC text), so what lands is what a Core insert would write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.errors import InvalidInput

__all__ = ["SINGLE_OPTION", "RowInsert", "postgres_driver", "sqlite_driver"]

SINGLE_OPTION = "gamepay_single"
"""The execution option ``Store.run_single`` marks its connections with."""

_Processor = Callable[[Any], Any] | None
_MAX_PARAMS = 30_000  # both SQLite (32,766) and asyncpg (32,767) cap the parameters of a statement


async def sqlite_driver(conn: AsyncConnection) -> Any:
    """The aiosqlite connection under ``conn``, inside the transaction ``conn`` has begun.

    SQLAlchemy begins lazily; beginning here makes the ``BEGIN IMMEDIATE`` hook run before the
    caller writes through the driver.
    """
    if not conn.in_transaction():
        await conn.begin()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def postgres_driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, inside the transaction ``conn`` has begun.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, on its first statement; this sends it
    now (as that first statement would), so what the caller runs on the driver is inside the
    transaction that ``conn`` commits or rolls back. On a connection of ``Store.run_single``
    that has not begun, nothing is sent: each statement on the driver is its own transaction
    (one round trip). Errors raised by the driver are asyncpg's own (``gamepay.store.retries``
    knows them).
    """
    raw = await conn.get_raw_connection()
    single = conn.sync_connection is not None and bool(
        conn.sync_connection.get_execution_options().get(SINGLE_OPTION, False)
    )
    if single and not conn.in_transaction():
        return raw.driver_connection
    if not conn.in_transaction():
        await conn.begin()
    adapted: Any = raw.dbapi_connection
    if getattr(adapted, "_transaction", None) is None:
        await adapted._start_transaction()
    return raw.driver_connection


class RowInsert:
    """An INSERT of ``columns`` into ``table``; ``conflict`` names a unique key to skip on.

    ``insert`` writes one row and says whether it went in (False: the ``conflict`` key exists);
    ``insert_returning`` writes many rows in one statement and returns their ``returning``
    column (an autoincrement id) in row order, ``max_rows`` rows per statement at most (and
    never more parameters than the drivers accept). Missing keys of a row are written as NULL.
    """

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        conflict: Sequence[str] | None = None,
        returning: str | None = None,
        max_rows: int | None = None,
    ) -> None:
        named = (*columns, *(conflict or ()), *([returning] if returning else []))
        unknown = [name for name in named if name not in table.c]
        if unknown or not columns:
            raise InvalidInput(f"{table.name} has no column(s) {unknown}")
        self.table = table
        self.columns = tuple(columns)
        self._conflict = tuple(conflict) if conflict else None
        self._returning = returning
        self._processors: dict[str, list[_Processor]] = {}
        self._tail = ""
        if self._conflict:
            self._tail += f" ON CONFLICT ({', '.join(self._conflict)}) DO NOTHING"
        if returning is not None:
            self._tail += f" RETURNING {table.c[returning].name}"
        self._head = f"INSERT INTO {table.name} ({', '.join(self.columns)}) VALUES "
        self._one = "(" + ", ".join("?" * len(self.columns)) + ")"
        insert = postgresql.insert(table)
        if self._conflict:
            insert = insert.on_conflict_do_nothing(index_elements=list(self._conflict))
        self._pg = insert if returning is None else insert.returning(table.c[returning])
        self._chunk = max(1, min(max_rows or _MAX_PARAMS, _MAX_PARAMS // len(self.columns)))

    def _encoders(self, dialect: Dialect) -> list[_Processor]:
        found = self._processors.get(dialect.name)
        if found is None:
            found = [
                self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in self.columns
            ]
            self._processors[dialect.name] = found
        return found

    def _encode(self, dialect: Dialect, row: Mapping[str, Any]) -> list[Any]:
        values: list[Any] = []
        for name, encode in zip(self.columns, self._encoders(dialect), strict=True):
            value = row.get(name)
            values.append(value if encode is None or value is None else encode(value))
        return values

    async def insert(self, conn: AsyncConnection, row: Mapping[str, Any]) -> bool:
        """Insert one row; True when it went in, False when the ``conflict`` key was taken."""
        if conn.dialect.name != "sqlite":
            result = await conn.execute(self._pg, [{n: row.get(n) for n in self.columns}])
            return bool(result.rowcount == 1)
        driver = await sqlite_driver(conn)
        cursor = await driver.execute(
            self._head + self._one + self._tail, self._encode(conn.dialect, row)
        )
        return bool(cursor.rowcount == 1)

    async def insert_returning(
        self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> list[Any]:
        """Insert ``rows`` in one statement; their ``returning`` values, in row order.

        The ids of one statement increase in the order its rows are written (a sequence on
        PostgreSQL, max(rowid)+1 on SQLite), so sorting them restores the row order whatever
        order the database returns them in.
        """
        if self._returning is None:
            raise InvalidInput("this RowInsert was built without returning=")
        ids: list[Any] = []
        for start in range(0, len(rows), self._chunk):
            ids.extend(await self._insert_chunk(conn, rows[start : start + self._chunk]))
        return ids

    async def _insert_chunk(
        self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> list[Any]:
        if conn.dialect.name != "sqlite":
            params = [{n: row.get(n) for n in self.columns} for row in rows]
            if len(params) == 1:
                result = await conn.execute(self._pg, params[0])
            else:
                result = await conn.execute(self._pg.values(params))
            return sorted(result.scalars().all())
        driver = await sqlite_driver(conn)
        flat = [value for row in rows for value in self._encode(conn.dialect, row)]
        sql = self._head + ", ".join([self._one] * len(rows)) + self._tail
        found = await driver.execute_fetchall(sql, flat)
        return sorted(r[0] for r in found)
