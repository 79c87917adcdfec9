"""The ledger's hot statements, per backend: lock balances, insert transfers, write balances.

``CoreOps`` runs SQLAlchemy Core statements (used on PostgreSQL: ``SELECT ... FOR UPDATE``
ordered by account and asset, ``INSERT ... ON CONFLICT DO NOTHING``, executemany updates).
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

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.errors import IdempotencyConflict
from gamepay.store.tables import balances_table, transfers_table

__all__ = [
    "TRANSFER_FIELDS",
    "BalanceKey",
    "CoreOps",
    "LedgerOps",
    "SqliteOps",
    "TransferRow",
    "ops_for",
]

BalanceKey = tuple[str, str]
"""(account id, asset id)."""

TransferRow = tuple[str, str | None, str | None, str, str, str, int, str, str | None, datetime]
"""A gp_transfers row in TRANSFER_FIELDS order."""

TRANSFER_FIELDS = (
    "id",
    "batch_id",
    "hold_id",
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
_B = balances_table.c
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

    async def write_balances(
        self, conn: AsyncConnection, rows: list[tuple[str, str, int, int]]
    ) -> None:
        """Set (account, asset, available, held) for rows locked by ``lock``."""
        ...


def _chunks(keys: Sequence[BalanceKey]) -> list[Sequence[BalanceKey]]:
    return [keys[i : i + _CHUNK] for i in range(0, len(keys), _CHUNK)]


class CoreOps:
    """SQLAlchemy Core statements; PostgreSQL locks rows with ``SELECT ... FOR UPDATE``."""

    def __init__(self, insert: Any = postgresql.insert) -> None:
        self._lock = (
            select(_B.account_id, _B.asset, _B.available, _B.held)
            .where(tuple_(_B.account_id, _B.asset).in_(bindparam("keys", expanding=True)))
            .order_by(_B.account_id, _B.asset)
            .with_for_update()
        )
        self._create = insert(balances_table).on_conflict_do_nothing(
            index_elements=[_B.account_id, _B.asset]
        )
        self._insert_one = insert(transfers_table).on_conflict_do_nothing(index_elements=[_T.id])
        self._insert_many = transfers_table.insert()
        self._update = (
            update(balances_table)
            .where(_B.account_id == bindparam("k_account"), _B.asset == bindparam("k_asset"))
            .values(available=bindparam("v_available"), held=bindparam("v_held"))
        )

    async def _select(
        self, conn: AsyncConnection, keys: Sequence[BalanceKey], into: dict[BalanceKey, list[int]]
    ) -> None:
        for chunk in _chunks(keys):
            for row in await conn.execute(self._lock, {"keys": list(chunk)}):
                into[(row.account_id, row.asset)] = [row.available, row.held]

    async def lock(
        self, conn: AsyncConnection, keys: Sequence[BalanceKey]
    ) -> dict[BalanceKey, list[int]]:
        """Lock in (account, asset) order; missing rows are created, then locked."""
        found: dict[BalanceKey, list[int]] = {}
        await self._select(conn, keys, found)
        missing = [k for k in keys if k not in found]
        if missing:
            await conn.execute(
                self._create,
                [{"account_id": a, "asset": s, "available": 0, "held": 0} for a, s in missing],
            )
            await self._select(conn, missing, found)
        return found

    async def insert_transfer(self, conn: AsyncConnection, row: TransferRow) -> bool:
        """INSERT ... ON CONFLICT (id) DO NOTHING; the rowcount says whether it went in."""
        result = await conn.execute(self._insert_one, dict(zip(TRANSFER_FIELDS, row, strict=True)))
        return bool(result.rowcount == 1)

    async def insert_transfers(self, conn: AsyncConnection, rows: list[TransferRow]) -> None:
        """One executemany INSERT for every row."""
        try:
            await conn.execute(
                self._insert_many, [dict(zip(TRANSFER_FIELDS, r, strict=True)) for r in rows]
            )
        except IntegrityError as exc:
            raise IdempotencyConflict("a transfer id of the batch is already taken") from exc

    async def write_balances(
        self, conn: AsyncConnection, rows: list[tuple[str, str, int, int]]
    ) -> None:
        """One executemany UPDATE."""
        await conn.execute(
            self._update,
            [
                {"k_account": a, "k_asset": s, "v_available": av, "v_held": h}
                for a, s, av, h in rows
            ],
        )


def _sqlite_time(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC with microseconds)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _encode(row: TransferRow) -> tuple[Any, ...]:
    tid, batch_id, hold_id, debit, credit, asset, amount, kind, memo, created = row
    return (
        tid,
        batch_id,
        hold_id,
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

    @staticmethod
    async def _driver(conn: AsyncConnection) -> Any:
        raw = await conn.get_raw_connection()
        return raw.driver_connection

    async def lock(
        self, conn: AsyncConnection, keys: Sequence[BalanceKey]
    ) -> dict[BalanceKey, list[int]]:
        """Read the rows (the write lock is already held); create missing ones at zero."""
        driver = await self._driver(conn)
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
        driver = await self._driver(conn)
        cursor = await driver.execute(_INSERT + " ON CONFLICT (id) DO NOTHING", _encode(row))
        return bool(cursor.rowcount == 1)

    async def insert_transfers(self, conn: AsyncConnection, rows: list[TransferRow]) -> None:
        """One executemany INSERT for every row."""
        driver = await self._driver(conn)
        stamps: dict[datetime, str] = {}
        encoded = []
        for tid, batch_id, hold_id, debit, credit, asset, amount, kind, memo, created in rows:
            stamp = stamps.get(created)
            if stamp is None:
                stamp = stamps[created] = _sqlite_time(created)
            encoded.append(
                (tid, batch_id, hold_id, debit, credit, asset, str(amount), kind, memo, stamp)
            )
        try:
            await driver.executemany(_INSERT, encoded)
        except sqlite3.IntegrityError as exc:
            raise IdempotencyConflict("a transfer id of the batch is already taken") from exc

    async def write_balances(
        self, conn: AsyncConnection, rows: list[tuple[str, str, int, int]]
    ) -> None:
        """One executemany UPDATE."""
        driver = await self._driver(conn)
        await driver.executemany(self._update, [(str(av), str(h), a, s) for a, s, av, h in rows])


def ops_for(dialect: str) -> LedgerOps:
    """The ops of a store's dialect."""
    if dialect == "sqlite":
        return SqliteOps()
    return CoreOps()
