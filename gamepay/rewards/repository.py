"""Every statement on ``gp_reward_runs`` and ``gp_reward_payouts``; the caller owns the tx.

Status writes go through one function (``_move``) that checks each move against the tables of
``gamepay.core.rewards`` and writes it only where the row is in a legal source status, so a row
never makes an illegal move whatever the caller asked.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.rewards import (
    PayoutStatus,
    RunStatus,
    check_payout_transition,
    check_run_transition,
)
from gamepay.rewards.reports import RunReport
from gamepay.store.schema.rewards import payouts_table, runs_table
from gamepay.store.sql import big_sum, utc_day
from gamepay.store.types import Amount

__all__ = ["PayoutRow", "RewardRepository", "RunRow", "paid_payouts_by_program", "payouts_per_day"]

_R = runs_table.c
_P = payouts_table.c


@dataclass(frozen=True, slots=True)
class RunRow:
    """One reward run as stored (the console's list of periods run)."""

    id: int
    program: str
    period_key: str
    period_start: datetime
    period_end: datetime
    asset: str
    status: RunStatus
    players: int
    total: int
    claimed_by: str
    claimed_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class PayoutRow:
    """One player's payout of a run as stored."""

    player_id: str
    amount: int
    purchases: int
    refunds: int
    active: bool
    status: PayoutStatus
    transfer_id: str | None
    paid_at: datetime | None
    send_status: str | None
    withdrawal_id: str | None


def _run_row(row: Any) -> RunRow:
    return RunRow(
        id=int(row.id),
        program=row.program,
        period_key=row.period_key,
        period_start=row.period_start,
        period_end=row.period_end,
        asset=row.asset,
        status=RunStatus(row.status),
        players=int(row.players),
        total=int(row.total),
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        finished_at=row.finished_at,
    )


def paid_payouts_by_program() -> sa.Select[Any]:
    """The statement counting paid payouts per program (rows of ``(program, count)``)."""
    return (
        sa.select(_R.program, sa.func.count())
        .select_from(payouts_table.join(runs_table))
        .where(_P.status == str(PayoutStatus.PAID))
        .group_by(_R.program)
    )


def payouts_per_day(since: datetime) -> sa.Select[Any]:
    """The statement counting payouts paid since ``since`` per UTC day and program (rows
    ``(day, program, count)``)."""
    day = utc_day(_P.paid_at)
    return (
        sa.select(day, _R.program, sa.func.count())
        .select_from(payouts_table.join(runs_table))
        .where(_P.status == str(PayoutStatus.PAID), _P.paid_at >= since)
        .group_by(day, _R.program)
    )


async def _move(
    conn: AsyncConnection,
    table: sa.Table,
    check: Callable[[str, str], object],
    where: sa.ColumnElement[bool],
    sources: Collection[str],
    target: str,
    values: Mapping[str, Any],
    params: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """The one status write: check every ``source -> target``, move rows in ``sources`` only.

    Returns how many rows moved (with ``params``, an executemany: -1 when the driver cannot
    tell).
    """
    if not sources:
        return 0
    for source in sources:
        check(source, target)
    statement = (
        table.update()
        .where(where, sa.or_(*(table.c.status == str(s) for s in sources)))
        .values(status=str(target), **values)
    )
    result = (
        await conn.execute(statement, list(params)) if params else await conn.execute(statement)
    )
    return int(result.rowcount)


class RewardRepository:
    """The reward runs' and payouts' rows over a connection of ``dialect``."""

    def __init__(self, dialect: str) -> None:
        self._postgres = dialect == "postgresql"
        insert = postgresql.insert if self._postgres else sqlite.insert
        self._insert_run = (
            insert(runs_table)
            .on_conflict_do_nothing(index_elements=["program", "period_start"])
            .returning(_R.id)
        )

    async def paid_period_starts(self, conn: AsyncConnection, program: str) -> set[datetime]:
        """The starts of ``program``'s periods whose run is paid."""
        query = sa.select(_R.period_start).where(
            _R.program == program, _R.status == str(RunStatus.PAID)
        )
        return set((await conn.execute(query)).scalars())

    async def run_id(
        self, conn: AsyncConnection, program: str, period_start: datetime
    ) -> int | None:
        """The id of ``program``'s run of the period starting at ``period_start``, or None."""
        found = (
            await conn.execute(
                sa.select(_R.id).where(_R.program == program, _R.period_start == period_start)
            )
        ).scalar_one_or_none()
        return None if found is None else int(found)

    async def insert_run(self, conn: AsyncConnection, values: Mapping[str, Any]) -> int | None:
        """Insert a run, ``paying`` with no players yet; None when its period already has one."""
        row = {**values, "status": str(RunStatus.PAYING), "players": 0, "total": 0}
        found = (await conn.execute(self._insert_run, row)).scalar_one_or_none()
        return None if found is None else int(found)

    async def set_run_totals(
        self, conn: AsyncConnection, run_id: int, players: int, total: int
    ) -> None:
        """Record how many players the run rewards and the total."""
        await conn.execute(
            runs_table.update().where(_R.id == run_id).values(players=players, total=total)
        )

    async def insert_payouts(
        self, conn: AsyncConnection, run_id: int, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Insert computed payouts of a run, each ``pending``."""
        pending = str(PayoutStatus.PENDING)
        await conn.execute(
            payouts_table.insert(),
            [{**row, "run_id": run_id, "status": pending} for row in rows],
        )

    async def take_pending(
        self, conn: AsyncConnection, run_id: int, limit: int
    ) -> list[tuple[str, int]]:
        """Up to ``limit`` pending payouts ``(player, amount)`` by player, locked for paying.

        On PostgreSQL they are taken ``FOR UPDATE SKIP LOCKED``, so replicas share the work; if
        every one is taken, it waits for one to commit and looks again (rows it paid no longer
        match), so an empty answer means nothing is pending. SQLite writers are serialized.
        """
        query = (
            sa.select(_P.player_id, _P.amount)
            .where(_P.run_id == run_id, _P.status == str(PayoutStatus.PENDING))
            .order_by(_P.player_id)
            .limit(limit)
        )
        if self._postgres:
            rows = (await conn.execute(query.with_for_update(skip_locked=True))).all()
            if not rows:
                rows = (await conn.execute(query.with_for_update())).all()
        else:
            rows = (await conn.execute(query)).all()
        return [(row.player_id, int(row.amount)) for row in rows]

    async def pending_count(self, conn: AsyncConnection, run_id: int) -> int:
        """How many payouts of the run are still pending."""
        query = (
            sa.select(sa.func.count())
            .select_from(payouts_table)
            .where(_P.run_id == run_id, _P.status == str(PayoutStatus.PENDING))
        )
        return int((await conn.execute(query)).scalar_one())

    async def mark_paid(
        self,
        conn: AsyncConnection,
        run_id: int,
        transfers: Sequence[tuple[str, str]],
        paid_at: datetime,
    ) -> None:
        """Move payouts ``pending -> paid`` with their ledger transfer ids ``(player, id)``."""
        await _move(
            conn,
            payouts_table,
            check_payout_transition,
            (_P.run_id == run_id) & (_P.player_id == sa.bindparam("pid")),
            [PayoutStatus.PENDING],
            PayoutStatus.PAID,
            {"transfer_id": sa.bindparam("tid"), "paid_at": paid_at},
            [{"pid": player_id, "tid": transfer_id} for player_id, transfer_id in transfers],
        )

    async def move_run(
        self,
        conn: AsyncConnection,
        run_id: int,
        sources: Collection[RunStatus],
        target: RunStatus,
        *,
        finished_at: datetime | None = None,
    ) -> bool:
        """Move the run to ``target`` if it is in ``sources``; whether it moved."""
        values = {} if finished_at is None else {"finished_at": finished_at}
        moved = await _move(
            conn, runs_table, check_run_transition, _R.id == run_id, sources, target, values
        )
        return moved > 0

    async def unsent(self, conn: AsyncConnection, run_id: int, limit: int) -> list[tuple[str, int]]:
        """Up to ``limit`` paid payouts ``(player, amount)`` with no send outcome, by player."""
        query = (
            sa.select(_P.player_id, _P.amount)
            .where(
                _P.run_id == run_id,
                _P.status == str(PayoutStatus.PAID),
                _P.send_status.is_(None),
            )
            .order_by(_P.player_id)
            .limit(limit)
        )
        return [(row.player_id, int(row.amount)) for row in await conn.execute(query)]

    async def record_send(
        self,
        conn: AsyncConnection,
        run_id: int,
        player_id: str,
        send_status: str,
        withdrawal_id: str | None,
    ) -> None:
        """Record the outcome of sending one payout on-chain (and its withdrawal id)."""
        await conn.execute(
            payouts_table.update()
            .where(_P.run_id == run_id, _P.player_id == player_id)
            .values(send_status=send_status, withdrawal_id=withdrawal_id)
        )

    async def report(self, conn: AsyncConnection, run_id: int, *, sends: bool) -> RunReport:
        """The run's report; ``sends`` also counts payouts by send outcome (on-chain)."""
        run = (await conn.execute(sa.select(runs_table).where(_R.id == run_id))).one()
        rows = (
            await conn.execute(
                sa.select(
                    _P.status,
                    sa.func.count(),
                    sa.func.coalesce(big_sum(_P.amount), 0, type_=Amount()),
                )
                .where(_P.run_id == run_id)
                .group_by(_P.status)
            )
        ).all()
        by_send: dict[str, int] = {}
        if sends:
            send_rows = await conn.execute(
                sa.select(_P.send_status, sa.func.count())
                .where(_P.run_id == run_id)
                .group_by(_P.send_status)
            )
            by_send = {row[0] or "unsent": int(row[1]) for row in send_rows}
        by_status = {row[0]: (int(row[1]), int(row[2])) for row in rows}
        paid = by_status.get(str(PayoutStatus.PAID), (0, 0))
        unpaid = by_status.get(str(PayoutStatus.PENDING), (0, 0))
        return RunReport(
            program=run.program,
            period=run.period_key,
            run_id=int(run.id),
            status=RunStatus(run.status),
            players=int(run.players),
            total=int(run.total),
            paid_count=paid[0],
            paid_amount=paid[1],
            unpaid_count=unpaid[0],
            unpaid_amount=unpaid[1],
            sends=by_send,
        )

    async def runs(self, conn: AsyncConnection, program: str, limit: int) -> list[RunRow]:
        """``program``'s latest ``limit`` runs, newest period first."""
        query = (
            sa.select(runs_table)
            .where(_R.program == program)
            .order_by(_R.period_start.desc())
            .limit(limit)
        )
        return [_run_row(row) for row in await conn.execute(query)]

    async def run(self, conn: AsyncConnection, run_id: int) -> RunRow | None:
        """The run with that id, or None."""
        found = (await conn.execute(sa.select(runs_table).where(_R.id == run_id))).first()
        return None if found is None else _run_row(found)

    async def payouts(
        self, conn: AsyncConnection, run_id: int, after: str | None, limit: int
    ) -> list[PayoutRow]:
        """Up to ``limit`` payouts of the run by player id, those after ``after`` (a page)."""
        query = (
            sa.select(payouts_table).where(_P.run_id == run_id).order_by(_P.player_id).limit(limit)
        )
        if after is not None:
            query = query.where(_P.player_id > after)
        return [
            PayoutRow(
                player_id=row.player_id,
                amount=int(row.amount),
                purchases=int(row.purchases),
                refunds=int(row.refunds),
                active=bool(row.active),
                status=PayoutStatus(row.status),
                transfer_id=row.transfer_id,
                paid_at=row.paid_at,
                send_status=row.send_status,
                withdrawal_id=row.withdrawal_id,
            )
            for row in await conn.execute(query)
        ]
