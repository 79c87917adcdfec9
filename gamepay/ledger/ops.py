"""The ledger's hot statements, per backend: lock balances, insert transfers, write balances.

``PostgresOps`` runs SQLAlchemy Core statements on PostgreSQL: ``SELECT ... FOR UPDATE`` ordered
by account and asset, ``INSERT ... ON CONFLICT DO NOTHING``, and for many rows one statement over
``unnest`` of arrays (one round trip, one prepared statement, whatever the batch size).
``SqliteOps`` runs the same SQL on the aiosqlite connection underneath the caller's
``AsyncConnection`` (same transaction): one thread hop per statement instead of SQLAlchemy's
three or four, which is most of the cost of a small transaction on SQLite. It encodes values
exactly as the ``Amount`` and ``UTCDateTime`` column types do (decimal text, naive UTC text).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.errors import IdempotencyConflict
from gamepay.store.rows import sqlite_driver
from gamepay.store.schema.ledger import batches_table, transfers_table

__all__ = [
    "TRANSFER_FIELDS",
    "BalanceKey",
    "LedgerOps",
    "PostgresOps",
    "SqliteOps",
    "TransferRow",
    "ops_for",
]

BalanceKey = tuple[str, str]
"""(account id, asset id)."""

TransferRow = tuple[
    str, str | None, str | None, str | None, str, str, str, int, str, str | None, datetime
]
"""A gp_transfers row in TRANSFER_FIELDS order."""

TRANSFER_FIELDS = (
    "id",
    "batch_id",
    "hold_id",
    "phase",
    "debit",
    "credit",
    "asset",
    "amount",
    "kind",
    "memo",
    "created_at",
)
"""The columns a transfer insert writes, in order."""

_CHUNK = 400
_T = transfers_table.c


class LedgerOps(Protocol):
    """What the ledger needs from a backend for its writes."""

    async def lock(
        self, conn: AsyncConnection, keys: Sequence[BalanceKey]
    ) -> dict[BalanceKey, list[int]]:
        """Lock (creating at zero when missing) the sorted ``keys``; return [available, held]."""
        ...

    async def insert_transfer(self, conn: AsyncConnection, row: TransferRow) -> bool:
        """Insert one transfer unless its id exists; True when inserted."""
        ...

    async def insert_transfers(self, conn: AsyncConnection, rows: list[TransferRow]) -> None:
        """Insert many transfers (executemany); IdempotencyConflict if an id is taken."""
        ...

    async def insert_batch(
        self, conn: AsyncConnection, batch_id: str, digest: str, now: datetime
    ) -> bool:
        """Insert a gp_batches row unless its id exists; True when inserted."""
        ...

    async def write_balances(
        self, conn: AsyncConnection, rows: list[tuple[str, str, int, int]]
    ) -> None:
        """Set (account, asset, available, held) for rows locked by ``lock``."""
        ...


def _chunks(keys: Sequence[BalanceKey]) -> list[Sequence[BalanceKey]]:
    return [keys[i : i + _CHUNK] for i in range(0, len(keys), _CHUNK)]


_PG_LOCK = text(
    "SELECT b.account_id, b.asset, b.available, b.held FROM gp_balances AS b"
    " JOIN unnest(CAST(:accounts AS text[]), CAST(:assets AS text[])) AS k(account_id, asset)"
    " ON b.account_id = k.account_id AND b.asset = k.asset"
    " ORDER BY b.account_id, b.asset FOR UPDATE OF b"
)
_PG_CREATE = text(
    "INSERT INTO gp_balances (account_id, asset, available, held)"
    " SELECT k.account_id, k.asset, 0, 0"
    " FROM unnest(CAST(:accounts AS text[]), CAST(:assets AS text[])) AS k(account_id, asset)"
    " ORDER BY k.account_id, k.asset ON CONFLICT (account_id, asset) DO NOTHING"
)
_PG_INSERT_MANY = text(
    f"INSERT INTO gp_transfers ({', '.join(TRANSFER_FIELDS)})"
    " SELECT r.id, r.batch_id, r.hold_id, r.phase, r.debit, r.credit, r.asset, r.amount, r.kind,"
    " r.memo, r.created_at FROM unnest("
    "CAST(:id AS text[]), CAST(:batch_id AS text[]), CAST(:hold_id AS text[]),"
    " CAST(:phase AS text[]),"
    " CAST(:debit AS text[]), CAST(:credit AS text[]), CAST(:asset AS text[]),"
    " CAST(:amount AS numeric[]), CAST(:kind AS text[]), CAST(:memo AS text[]),"
    " CAST(:created_at AS timestamptz[])) WITH ORDINALITY"
    f" AS r({', '.join(TRANSFER_FIELDS)}, ord) ORDER BY r.ord"
)
_PG_UPDATE = text(
    "UPDATE gp_balances AS b SET available = v.available, held = v.held"
    " FROM unnest(CAST(:accounts AS text[]), CAST(:assets AS text[]),"
    " CAST(:available AS numeric[]), CAST(:held AS numeric[]))"
    " AS v(account_id, asset, available, held)"
    " WHERE b.account_id = v.account_id AND b.asset = v.asset"
)


class PostgresOps:
    """PostgreSQL: each step is one statement whatever the number of rows, its rows passed as
    arrays through ``unnest`` (fixed SQL text, so asyncpg prepares it once per connection);
    balance rows are locked with ``SELECT ... FOR UPDATE`` in (account, asset) order."""

    def __init__(self) -> None:
        self._insert_one = postgresql.insert(transfers_table).on_conflict_do_nothing(
            index_elements=[_T.id]
        )
        self._insert_batch = postgresql.insert(batches_table).on_conflict_do_nothing(
            index_elements=[batches_table.c.id]
        )

    @staticmethod
    async def _select(
        conn: AsyncConnection, keys: Sequence[BalanceKey], into: dict[BalanceKey, list[int]]
    ) -> None:
        params = {"accounts": [k[0] for k in keys], "assets": [k[1] for k in keys]}
        for account, asset, available, held in await conn.execute(_PG_LOCK, params):
            into[(account, asset)] = [int(available), int(held)]

    async def lock(
        self, conn: AsyncConnection, keys: Sequence[BalanceKey]
    ) -> dict[BalanceKey, list[int]]:
        """Lock in (account, asset) order; missing rows are created, then locked."""
        found: dict[BalanceKey, list[int]] = {}
        await self._select(conn, keys, found)
        missing = [k for k in keys if k not in found]
        if missing:
            await conn.execute(
                _PG_CREATE,
                {"accounts": [k[0] for k in missing], "assets": [k[1] for k in missing]},
            )
            await self._select(conn, missing, found)
        return found

    async def insert_transfer(self, conn: AsyncConnection, row: TransferRow) -> bool:
        """INSERT ... ON CONFLICT (id) DO NOTHING; the rowcount says whether it went in."""
        result = await conn.execute(self._insert_one, dict(zip(TRANSFER_FIELDS, row, strict=True)))
        return bool(result.rowcount == 1)

    async def insert_transfers(self, conn: AsyncConnection, rows: list[TransferRow]) -> None:
        """One INSERT ... SELECT FROM unnest(...) for every row, in order."""
        columns = list(zip(*rows, strict=True))
        params = {name: list(values) for name, values in zip(TRANSFER_FIELDS, columns, strict=True)}
        try:
            await conn.execute(_PG_INSERT_MANY, params)
        except IntegrityError as exc:
            raise IdempotencyConflict("a transfer id of the batch is already taken") from exc

    async def insert_batch(
        self, conn: AsyncConnection, batch_id: str, digest: str, now: datetime
    ) -> bool:
        """INSERT ... ON CONFLICT (id) DO NOTHING into gp_batches."""
        result = await conn.execute(
            self._insert_batch, {"id": batch_id, "content_hash": digest, "created_at": now}
        )
        return bool(result.rowcount == 1)

    async def write_balances(
        self, conn: AsyncConnection, rows: list[tuple[str, str, int, int]]
    ) -> None:
        """One UPDATE ... FROM unnest(...)."""
        await conn.execute(
            _PG_UPDATE,
            {
                "accounts": [r[0] for r in rows],
                "assets": [r[1] for r in rows],
                "available": [r[2] for r in rows],
                "held": [r[3] for r in rows],
            },
        )


def _sqlite_time(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC with microseconds)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _encode(row: TransferRow) -> tuple[Any, ...]:
    tid, batch_id, hold_id, phase, debit, credit, asset, amount, kind, memo, created = row
    return (
        tid,
        batch_id,
        hold_id,
        phase,
        debit,
        credit,
        asset,
        str(amount),
        kind,
        memo,
        _sqlite_time(created),
    )


_INSERT = (
    f"INSERT INTO gp_transfers ({', '.join(TRANSFER_FIELDS)}) "
    f"VALUES ({', '.join('?' * len(TRANSFER_FIELDS))})"
)


class SqliteOps:
    """The same statements on the aiosqlite connection (writers are serialized by BEGIN
    IMMEDIATE, so a plain SELECT is a lock)."""

    _update = "UPDATE gp_balances SET available = ?, held = ? WHERE account_id = ? AND asset = ?"
    _create = (
        "INSERT INTO gp_balances (account_id, asset, available, held) VALUES (?, ?, '0', '0') "
        "ON CONFLICT (account_id, asset) DO NOTHING"
    )

    async def lock(
        self, conn: AsyncConnection, keys: Sequence[BalanceKey]
    ) -> dict[BalanceKey, list[int]]:
        """Read the rows (the write lock is already held); create missing ones at zero."""
        driver = await sqlite_driver(conn)
        found: dict[BalanceKey, list[int]] = {}
        for chunk in _chunks(keys):
            where = " OR ".join(["(account_id = ? AND asset = ?)"] * len(chunk))
            params = [v for key in chunk for v in key]
            rows = await driver.execute_fetchall(
                f"SELECT account_id, asset, available, held FROM gp_balances WHERE {where}",
                params,
            )
            for account, asset, available, held in rows:
                found[(account, asset)] = [int(available), int(held)]
        missing = [k for k in keys if k not in found]
        if missing:
            await driver.executemany(self._create, missing)
            for key in missing:
                found[key] = [0, 0]
        return found

    async def insert_transfer(self, conn: AsyncConnection, row: TransferRow) -> bool:
        """INSERT ... ON CONFLICT (id) DO NOTHING; the rowcount says whether it went in."""
        driver = await sqlite_driver(conn)
        cursor = await driver.execute(_INSERT + " ON CONFLICT (id) DO NOTHING", _encode(row))
        return bool(cursor.rowcount == 1)

    async def insert_transfers(self, conn: AsyncConnection, rows: list[TransferRow]) -> None:
        """One executemany INSERT for every row."""
        driver = await sqlite_driver(conn)
        stamps: dict[datetime, str] = {}
        encoded = []
        for tid, batch_id, hold_id, phase, debit, credit, asset, amount, kind, memo, at in rows:
            at_ = stamps.get(at)
            if at_ is None:
                at_ = stamps[at] = _sqlite_time(at)
            encoded.append(
                (tid, batch_id, hold_id, phase, debit, credit, asset, str(amount), kind, memo, at_)
            )
        try:
            await driver.executemany(_INSERT, encoded)
        except sqlite3.IntegrityError as exc:
            raise IdempotencyConflict("a transfer id of the batch is already taken") from exc

    async def insert_batch(
        self, conn: AsyncConnection, batch_id: str, digest: str, now: datetime
    ) -> bool:
        """INSERT ... ON CONFLICT (id) DO NOTHING into gp_batches."""
        driver = await sqlite_driver(conn)
        cursor = await driver.execute(
            "INSERT INTO gp_batches (id, content_hash, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (batch_id, digest, _sqlite_time(now)),
        )
        return bool(cursor.rowcount == 1)

    async def write_balances(
        self, conn: AsyncConnection, rows: list[tuple[str, str, int, int]]
    ) -> None:
        """One executemany UPDATE."""
        driver = await sqlite_driver(conn)
        await driver.executemany(self._update, [(str(av), str(h), a, s) for a, s, av, h in rows])


def ops_for(dialect: str) -> LedgerOps:
    """The ops of a store's dialect."""
    if dialect == "sqlite":
        return SqliteOps()
    return PostgresOps()
