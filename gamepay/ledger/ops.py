"""The ledger's backends: how one posting is locked, checked, claimed and written.

A posting reaches a backend as its balance keys (sorted, each with its ``Mode`` and its
[available, held] deltas), the transfer rows it appends and the ``Claim`` that takes its
idempotency key. The backend answers an ``Outcome``: written (with the balances it can vouch
for), or refused before anything was written (``funds``, ``range``, ``taken``).

- ``PostgresOps`` (``gamepay.ledger.pg``): one call of the ``gp_post`` function (revision
  ``0007_balance_slots``) on the asyncpg connection under the caller's ``AsyncConnection``:
  BEGIN, one statement, COMMIT for a transfer. System accounts' balances are spread over slots
  there (no hot rows).
- ``SqliteOps`` (here): the same steps as statements on the aiosqlite connection under the
  caller's ``AsyncConnection`` (same transaction, one thread hop each); writers are serialized by
  ``BEGIN IMMEDIATE``, so a plain SELECT is a lock and every balance is one row (slot 0). It
  encodes values exactly as the ``Amount`` and ``UTCDateTime`` column types do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.money import MAX_AMOUNT
from gamepay.errors import IdempotencyConflict
from gamepay.store.rows import sqlite_driver

__all__ = [
    "TRANSFER_FIELDS",
    "BalanceKey",
    "Claim",
    "KeyChange",
    "LedgerOps",
    "Mode",
    "Outcome",
    "SqliteOps",
    "TransferRow",
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


class Mode(IntEnum):
    """How a balance is kept: a player's in one locked row; a system account's (PostgreSQL) in
    slots, ``NEGATIVE`` never checked for funds, ``GUARDED`` checked on every debit."""

    PLAYER = 0
    NEGATIVE = 1
    GUARDED = 2


@dataclass(frozen=True, slots=True)
class KeyChange:
    """One balance a posting changes (or only locks: zero deltas on a player's balance)."""

    key: BalanceKey
    mode: Mode
    available: int
    held: int


@dataclass(frozen=True, slots=True)
class Claim:
    """How a posting takes its idempotency key: the first transfer row's id (``transfer``), a
    ``gp_batches`` row (``batch``: ``arg`` is the content hash), a ``gp_holds`` row from the
    first transfer row (``hold``), or a pending hold moved to ``arg`` (``resolve``, with the
    ``posted`` amount or None)."""

    kind: Literal["transfer", "batch", "hold", "resolve"]
    id: str = ""
    arg: str | None = None
    posted: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A written posting (``refused`` None) with the balances the backend can vouch for
    (players' and every balance it locked whole), or why it was refused before writing:
    ``funds``/``range`` name the ``key``; ``taken`` means the claim's key exists."""

    refused: Literal["funds", "range", "taken"] | None = None
    key: BalanceKey | None = None
    balances: dict[BalanceKey, tuple[int, int]] = field(default_factory=dict)


class LedgerOps(Protocol):
    """What the ledger needs from a backend for its writes."""

    async def post(
        self,
        conn: AsyncConnection,
        changes: Sequence[KeyChange],
        rows: list[TransferRow],
        claim: Claim,
    ) -> Outcome:
        """Lock -> check -> claim -> insert -> write, in the caller's transaction; ``changes``
        sorted by key. Nothing is written when the outcome is refused."""
        ...

    async def available_for_update(self, conn: AsyncConnection, key: BalanceKey, mode: Mode) -> int:
        """The available balance of ``key``, locked whole until the transaction ends."""
        ...


def _sqlite_time(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC with microseconds)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def refusal(balances: dict[BalanceKey, list[int]], changes: Sequence[KeyChange]) -> Outcome | None:
    """``funds`` for the first key spending below zero that may not, else ``range`` for the
    first balance leaving +-(2**256-1), else None (``balances`` already hold the deltas)."""
    for change in changes:
        spends = change.available < 0 and change.mode is not Mode.NEGATIVE
        if spends and balances[change.key][0] < 0:
            return Outcome("funds", change.key)
    for change in changes:
        available, held = balances[change.key]
        if abs(available) > MAX_AMOUNT or abs(held) > MAX_AMOUNT:
            return Outcome("range", change.key)
    return None


_INSERT = (
    f"INSERT INTO gp_transfers ({', '.join(TRANSFER_FIELDS)}) "
    f"VALUES ({', '.join('?' * len(TRANSFER_FIELDS))})"
)


class SqliteOps:
    """The posting steps as statements on the aiosqlite connection (writers are serialized by
    BEGIN IMMEDIATE, so a plain SELECT is a lock); every balance is one row, slot 0."""

    _update = (
        "UPDATE gp_balances SET available = ?, held = ? "
        "WHERE account_id = ? AND asset = ? AND slot = 0"
    )
    _create = (
        "INSERT INTO gp_balances (account_id, asset, slot, available, held) "
        "VALUES (?, ?, 0, '0', '0') ON CONFLICT (account_id, asset, slot) DO NOTHING"
    )

    async def _lock(self, driver: Any, keys: Sequence[BalanceKey]) -> dict[BalanceKey, list[int]]:
        """Read the rows (the write lock is already held); create missing ones at zero."""
        found: dict[BalanceKey, list[int]] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            where = " OR ".join(["(account_id = ? AND asset = ?)"] * len(chunk))
            params = [v for key in chunk for v in key]
            rows = await driver.execute_fetchall(
                "SELECT account_id, asset, available, held FROM gp_balances "
                f"WHERE slot = 0 AND ({where})",
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

    async def _claim(self, driver: Any, claim: Claim, first: TransferRow, at: str) -> bool:
        if claim.kind == "transfer":
            cursor = await driver.execute(
                _INSERT + " ON CONFLICT (id) DO NOTHING", _encode(first, at)
            )
        elif claim.kind == "batch":
            cursor = await driver.execute(
                "INSERT INTO gp_batches (id, content_hash, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (claim.id, claim.arg, at),
            )
        elif claim.kind == "hold":
            _, _, _, _, debit, credit, asset, amount, kind, memo, _ = first
            cursor = await driver.execute(
                "INSERT INTO gp_holds (id, debit, credit, asset, amount, posted_amount, status,"
                " kind, memo, created_at, resolved_at)"
                " VALUES (?, ?, ?, ?, ?, NULL, 'pending', ?, ?, ?, NULL)"
                " ON CONFLICT (id) DO NOTHING",
                (claim.id, debit, credit, asset, str(amount), kind, memo, at),
            )
        else:
            posted = None if claim.posted is None else str(claim.posted)
            cursor = await driver.execute(
                "UPDATE gp_holds SET status = ?, posted_amount = ?, resolved_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (claim.arg, posted, at, claim.id),
            )
        return bool(cursor.rowcount == 1)

    async def post(
        self,
        conn: AsyncConnection,
        changes: Sequence[KeyChange],
        rows: list[TransferRow],
        claim: Claim,
    ) -> Outcome:
        """Lock -> check -> claim -> insert -> write, each a statement on the driver."""
        driver = await sqlite_driver(conn)
        balances = await self._lock(driver, [c.key for c in changes])
        for change in changes:
            balance = balances[change.key]
            balance[0] += change.available
            balance[1] += change.held
        refused = refusal(balances, changes)
        if refused is not None:
            return refused
        at = _sqlite_time(rows[0][-1])
        if not await self._claim(driver, claim, rows[0], at):
            return Outcome("taken")
        rest = rows[1:] if claim.kind == "transfer" else rows
        try:
            if len(rest) == 1:
                await driver.execute(_INSERT, _encode(rest[0], at))
            elif rest:
                await driver.executemany(_INSERT, [_encode(row, at) for row in rest])
        except sqlite3.IntegrityError as exc:
            raise IdempotencyConflict("a transfer id of this posting is already taken") from exc
        changed = [c.key for c in changes if c.available or c.held]
        await driver.executemany(
            self._update, [(str(balances[k][0]), str(balances[k][1]), *k) for k in changed]
        )
        return Outcome(balances={k: (balances[k][0], balances[k][1]) for k in changed})

    async def available_for_update(self, conn: AsyncConnection, key: BalanceKey, mode: Mode) -> int:
        """The one row's available balance (the write lock is already held)."""
        driver = await sqlite_driver(conn)
        rows = await driver.execute_fetchall(
            "SELECT available FROM gp_balances WHERE account_id = ? AND asset = ? AND slot = 0",
            key,
        )
        return int(rows[0][0]) if rows else 0


def _encode(row: TransferRow, at: str) -> tuple[Any, ...]:
    tid, batch_id, hold_id, phase, debit, credit, asset, amount, kind, memo, _ = row
    return (tid, batch_id, hold_id, phase, debit, credit, asset, str(amount), kind, memo, at)
