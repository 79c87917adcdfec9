"""Every statement on ``gp_withdrawals`` and ``gp_withdrawal_days``; the caller owns the tx.

The service decides (``gamepay.core.withdrawals``) and this module reads and writes rows: a new
withdrawal (``insert``, idempotent on ``(player_id, request_id)``), lookups (``by_request``,
``get``, ``list``, ``claimed_transfers``), the status update of a move (``update_status``), and
the daily-limit totals (``lock_day`` takes the day's row ``FOR UPDATE`` on PostgreSQL; SQLite
writers are serialized), and the uploaded transfer exports (``insert_export``,
``latest_export``) with ``claimed_by`` (which withdrawal holds a transfer id or tx hash).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.store.schema.withdrawals import (
    withdrawal_days_table,
    withdrawal_exports_table,
    withdrawals_table,
)
from gamepay.store.sql import utc_day
from gamepay.withdrawals.records import Withdrawal

__all__ = ["StoredExport", "WithdrawalRepository", "withdrawals_by_status", "withdrawals_per_day"]

_W = withdrawals_table.c
_D = withdrawal_days_table.c
_X = withdrawal_exports_table.c


@dataclass(frozen=True, slots=True)
class StoredExport:
    """One uploaded transfer export as stored: its file's name, digest, size and records."""

    id: int
    uploaded_at: datetime
    filename: str
    sha256: str
    size: int
    count: int
    records: str
    """The parsed records as JSON text (a list of objects)."""


def withdrawals_by_status() -> Select[Any]:
    """The statement counting withdrawals per status (rows of ``(status, count)``)."""
    return select(_W.status, func.count()).group_by(_W.status)


def withdrawals_per_day(since: datetime) -> Select[Any]:
    """The statement counting withdrawals requested since ``since`` per UTC day and status
    (rows ``(day, status, count)``)."""
    day = utc_day(_W.created_at)
    return (
        select(day, _W.status, func.count()).where(_W.created_at >= since).group_by(day, _W.status)
    )


def _from_row(row: Any) -> Withdrawal:
    return Withdrawal(
        id=row.id,
        reference=row.reference,
        player_id=row.player_id,
        request_id=row.request_id,
        asset_id=row.asset_id,
        chain_id=row.chain_id,
        token_address=row.token_address,
        decimals=row.decimals,
        amount=row.amount,
        address=row.address,
        status=WithdrawalStatus(row.status),
        limit_day=date.fromisoformat(row.limit_day),
        created_at=row.created_at,
        updated_at=row.updated_at,
        transfer_id=row.transfer_id,
        tx_hash=row.tx_hash,
        error=row.error,
    )


def _to_row(w: Withdrawal) -> dict[str, Any]:
    return {
        "id": w.id,
        "reference": w.reference,
        "player_id": w.player_id,
        "request_id": w.request_id,
        "asset_id": w.asset_id,
        "chain_id": w.chain_id,
        "token_address": w.token_address,
        "decimals": w.decimals,
        "amount": w.amount,
        "address": w.address,
        "status": str(w.status),
        "transfer_id": w.transfer_id,
        "tx_hash": w.tx_hash,
        "error": w.error,
        "limit_day": w.limit_day.isoformat(),
        "created_at": w.created_at,
        "updated_at": w.updated_at,
    }


def _day_key(player_id: str, asset_id: str, day: date) -> Any:
    return (_D.player_id == player_id) & (_D.asset_id == asset_id) & (_D.day == day.isoformat())


class WithdrawalRepository:
    """The withdrawals' rows over a connection of ``dialect`` (``"postgresql"`` or ``"sqlite"``)."""

    def __init__(self, dialect: str) -> None:
        insert: Callable[[Table], Insert]
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self._insert_withdrawal = (
            insert(withdrawals_table)
            .on_conflict_do_nothing(index_elements=[_W.player_id, _W.request_id])
            .returning(_W.id)
        )
        self._insert_day = insert(withdrawal_days_table).on_conflict_do_nothing(
            index_elements=[_D.player_id, _D.asset_id, _D.day]
        )

    async def insert(self, conn: AsyncConnection, w: Withdrawal) -> bool:
        """Insert a new withdrawal; False (nothing written) when its request id is taken."""
        return (await conn.execute(self._insert_withdrawal, _to_row(w))).first() is not None

    async def by_request(
        self, conn: AsyncConnection, player_id: str, request_id: str
    ) -> Withdrawal | None:
        """The withdrawal ``player_id`` made under ``request_id``, or None."""
        found = (
            await conn.execute(
                select(withdrawals_table).where(
                    _W.player_id == player_id, _W.request_id == request_id
                )
            )
        ).first()
        return None if found is None else _from_row(found)

    async def get(
        self, conn: AsyncConnection, withdrawal_id: str, *, for_update: bool = False
    ) -> Withdrawal | None:
        """The withdrawal with that id (its row locked until commit if ``for_update``), or None."""
        query = select(withdrawals_table).where(_W.id == withdrawal_id)
        if for_update:
            query = query.with_for_update()
        found = (await conn.execute(query)).first()
        return None if found is None else _from_row(found)

    async def list(
        self,
        conn: AsyncConnection,
        status: WithdrawalStatus | None = None,
        player_id: str | None = None,
    ) -> builtins.list[Withdrawal]:
        """Withdrawals, oldest first, optionally only one status and/or one player's."""
        query = select(withdrawals_table).order_by(_W.created_at, _W.id)
        if status is not None:
            query = query.where(_W.status == str(status))
        if player_id is not None:
            query = query.where(_W.player_id == player_id)
        return [_from_row(row) for row in await conn.execute(query)]

    async def claimed_transfers(
        self, conn: AsyncConnection
    ) -> tuple[builtins.set[str], builtins.set[str]]:
        """The transfer ids and tx hashes already attached to a withdrawal (any status)."""
        query = select(_W.transfer_id, _W.tx_hash).where(
            (_W.transfer_id.is_not(None)) | (_W.tx_hash.is_not(None))
        )
        ids: builtins.set[str] = builtins.set()
        hashes: builtins.set[str] = builtins.set()
        for row in await conn.execute(query):
            if row.transfer_id is not None:
                ids.add(row.transfer_id)
            if row.tx_hash is not None:
                hashes.add(row.tx_hash.lower())
        return ids, hashes

    async def update_status(self, conn: AsyncConnection, moved: Withdrawal) -> None:
        """Write a move: ``moved``'s status, ``updated_at``, transfer id, tx hash and error."""
        await conn.execute(
            update(withdrawals_table)
            .where(_W.id == moved.id)
            .values(
                status=str(moved.status),
                updated_at=moved.updated_at,
                transfer_id=moved.transfer_id,
                tx_hash=moved.tx_hash,
                error=moved.error,
            )
        )

    async def lock_day(
        self, conn: AsyncConnection, player_id: str, asset_id: str, day: date, *, create: bool
    ) -> int:
        """The day's total for the daily limit, its row locked until commit (0 when absent).

        ``create`` first inserts the row with a zero total when it is missing, so there is a
        row to lock (a withdrawal taking from the limit); a release finds its row already there.
        """
        if create:
            await conn.execute(
                self._insert_day,
                {"player_id": player_id, "asset_id": asset_id, "day": day.isoformat(), "total": 0},
            )
        found = (
            await conn.execute(
                select(_D.total).where(_day_key(player_id, asset_id, day)).with_for_update()
            )
        ).first()
        return 0 if found is None else int(found.total)

    async def write_day(
        self, conn: AsyncConnection, player_id: str, asset_id: str, day: date, total: int
    ) -> None:
        """Set the day's total (its row locked by ``lock_day`` in the same transaction)."""
        await conn.execute(
            update(withdrawal_days_table)
            .where(_day_key(player_id, asset_id, day))
            .values(total=total)
        )

    async def day_total(
        self, conn: AsyncConnection, player_id: str, asset_id: str, day: date
    ) -> int:
        """The day's total for the daily limit, unlocked (0 when absent)."""
        found = (
            await conn.execute(select(_D.total).where(_day_key(player_id, asset_id, day)))
        ).first()
        return 0 if found is None else int(found.total)

    async def claimed_by(
        self, conn: AsyncConnection, transfer_id: str | None, tx_hash: str | None
    ) -> builtins.list[str]:
        """The ids of the withdrawals holding ``transfer_id`` or ``tx_hash`` (any case)."""
        match = []
        if transfer_id is not None:
            match.append(_W.transfer_id == transfer_id)
        if tx_hash is not None:
            match.append(func.lower(_W.tx_hash) == tx_hash.lower())
        if not match:
            return []
        query = select(_W.id).where(match[0] if len(match) == 1 else match[0] | match[1])
        return [str(row.id) for row in await conn.execute(query)]

    async def insert_export(
        self,
        conn: AsyncConnection,
        *,
        uploaded_at: datetime,
        filename: str,
        sha256: str,
        size: int,
        count: int,
        records: str,
    ) -> int:
        """Store an uploaded export; returns its id."""
        inserted = await conn.execute(
            withdrawal_exports_table.insert()
            .values(
                uploaded_at=uploaded_at,
                filename=filename,
                sha256=sha256,
                size=size,
                count=count,
                records=records,
            )
            .returning(_X.id)
        )
        return int(inserted.scalar_one())

    async def latest_export(self, conn: AsyncConnection) -> StoredExport | None:
        """The most recently uploaded export, or None."""
        found = (
            await conn.execute(select(withdrawal_exports_table).order_by(_X.id.desc()).limit(1))
        ).first()
        if found is None:
            return None
        return StoredExport(
            id=int(found.id),
            uploaded_at=found.uploaded_at,
            filename=found.filename,
            sha256=found.sha256,
            size=int(found.size),
            count=int(found._mapping["count"]),
            records=found.records,
        )
