"""Reward runs: pay each closed period of a program exactly once, resumable, replica-safe.

The database decides that a payout happens once, not the scheduler:

1. **Claim and compute** (one transaction): insert the run row (UNIQUE(program, period_start),
   ``ON CONFLICT DO NOTHING``), stream the set-based aggregation over ``gp_transfers`` and
   insert one payout row per rewarded player (UNIQUE(run_id, player_id)), chunk by chunk. A
   replica that loses the race finds the committed run.
2. **Pay** chunk by chunk, each chunk one transaction: pick the next pending payouts (on
   PostgreSQL ``FOR UPDATE SKIP LOCKED``, so replicas share the work instead of repeating it),
   post them as one ledger batch with a deterministic id (``reward_batch_id``: the program,
   the period and a digest of the chunk), and mark them paid with their transfer ids. The
   ledger write and the status change commit together, so a crash anywhere leaves every
   payout either paid once or pending.
3. **Finish**: when nothing is pending, the run is marked paid. An on-chain program's run is
   marked ``sending`` instead, and each payout (already in the player's ledger balance) is sent
   to the player's wallet as a withdrawal through ``gamepay.withdrawals.service`` (hold, one
   asset_pro transfer with a stable reference, post or void, reconciliation of unknown
   outcomes) with the request id ``reward:<program>:<period>``; then the run is paid.

An underfunded pool pays the longest prefix of the next chunk that the pool can cover, then
raises ``PoolUnderfunded`` carrying a ``RunReport`` of what is paid and what is not; running
again after funding the pool resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.accounts import player_account
from gamepay.core.rewards import PAYOUT_PAID, PAYOUT_PENDING, RUN_PAID, RUN_PAYING, RUN_SENDING
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import (
    ConfigError,
    InsufficientFunds,
    InvalidInput,
    LedgerError,
    PaymentError,
    PoolUnderfunded,
)
from gamepay.ledger import Ledger
from gamepay.rewards.compute import stream_activity
from gamepay.rewards.periods import Period, closed_periods, require_closed
from gamepay.rewards.programs import Program, reward_for
from gamepay.store import Store
from gamepay.store.schema.ledger import balances_table
from gamepay.store.schema.rewards import payouts_table, runs_table
from gamepay.store.sql import big_sum
from gamepay.store.types import Amount

if TYPE_CHECKING:
    from gamepay.withdrawals.service import Withdrawals

__all__ = [
    "SEND_NO_WALLET",
    "STEPS",
    "RewardRunner",
    "RunProgress",
    "RunReport",
    "StepHook",
    "WalletLookup",
    "reward_batch_id",
]

log = logging.getLogger("gamepay.rewards")

WalletLookup = Callable[[str], Awaitable[str | None]]
"""An async function from player id to the player's wallet address (None: no wallet)."""

SEND_NO_WALLET = "no_wallet"
"""The send status of an on-chain payout whose player has no wallet (it stays in the ledger)."""

StepHook = Callable[[str], None]
"""Called with a step name at each step of a run; tests raise from it to inject crashes."""

STEPS = (
    "claim",  # before the claim-and-compute transaction
    "computed",  # inside it, after every payout row is written (a raise rolls it all back)
    "claimed",  # after it committed
    "chunk_selected",  # inside a pay transaction, after picking the pending payouts
    "chunk_posted",  # inside it, after the ledger transfers (a raise rolls them back)
    "chunk_committed",  # after a pay transaction committed
    "finishing",  # before the transaction that marks the run paid
    "finished",  # after it committed
    "sending",  # on-chain programs: before sending one payout to its wallet
    "withdrawn",  # after the withdrawal returned, before its outcome is recorded
    "sent",  # after its outcome is recorded
)
"""Every step name a ``StepHook`` sees, in the order a run passes them."""


def reward_batch_id(program: str, period_key: str, payouts: Sequence[tuple[str, int]]) -> str:
    """The ledger batch id of one chunk of payouts: ``reward:<program>:<period>:<digest>``.

    The digest (sha256, 32 hex digits) covers the chunk's (player, amount) pairs in order, so
    the same chunk always gets the same id and a replay of it is a no-op in the ledger; each
    payout's transfer id is ``<batch id>/<index>`` and is stored on its payout row.
    """
    digest = hashlib.sha256()
    for player_id, amount in payouts:
        digest.update(f"{len(player_id)}:{player_id}={amount};".encode())
    return f"reward:{program}:{period_key}:{digest.hexdigest()[:32]}"


@dataclass(frozen=True, slots=True)
class RunReport:
    """Where one run stands: rewarded players and amounts, paid and not yet paid.

    ``sends`` (on-chain programs) counts the payouts by the outcome of sending them to wallets:
    ``sent``, ``failed`` or ``unknown`` (withdrawal statuses), ``no_wallet``,
    ``refused:<error code>``, and ``unsent`` (not tried yet).
    """

    program: str
    period: str
    run_id: int
    status: str
    players: int
    total: int
    paid_count: int
    paid_amount: int
    unpaid_count: int
    unpaid_amount: int
    sends: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts as decimal strings of base units."""
        data = asdict(self)
        for key in ("total", "paid_amount", "unpaid_amount"):
            data[key] = str(data[key])
        return data


@dataclass(frozen=True, slots=True)
class RunProgress:
    """Progress of a run as seen by this runner, for a progress bar."""

    program: str
    period: str
    players: int
    total: int
    paid_count: int
    paid_amount: int


@dataclass(frozen=True, slots=True)
class _Due:
    player_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class _Chunk:
    count: int
    amount: int
    short: bool = False  # the pool could not cover the whole chunk


def _default_replica() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RewardRunner:
    """Runs one program's periods against a store and its ledger.

    ``clock`` gives "now" (aware); ``replica`` names this process in the run's claim columns;
    ``chunk_size`` payouts go into each transaction; ``hook`` sees every step (see ``STEPS``);
    ``progress`` is called after the claim and after every committed chunk. An on-chain
    program also needs ``withdrawals`` (the service that sends tokens) and ``wallets`` (an async
    function from player id to wallet address, or None when the player has none).
    """

    def __init__(
        self,
        store: Store,
        ledger: Ledger,
        program: Program,
        *,
        clock: Callable[[], datetime] = _utcnow,
        replica: str | None = None,
        chunk_size: int = 1000,
        hook: StepHook | None = None,
        progress: Callable[[RunProgress], None] | None = None,
        withdrawals: Withdrawals | None = None,
        wallets: WalletLookup | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ConfigError("chunk_size must be positive")
        if program.payout == "onchain" and (withdrawals is None or wallets is None):
            raise ConfigError(
                f"program {program.name} pays on-chain: give the runner withdrawals and wallets"
            )
        self.store = store
        self.ledger = ledger
        self.program = program
        self.clock = clock
        self.replica = replica or _default_replica()
        self.chunk_size = chunk_size
        self.hook = hook
        self.progress = progress
        self.withdrawals = withdrawals
        self.wallets = wallets

    def _step(self, name: str) -> None:
        if self.hook is not None:
            self.hook(name)

    async def run_period(self, day: date, *, now: datetime | None = None) -> RunReport:
        """Pay the period containing local date ``day``; PeriodNotClosed if it has not ended.

        A period that ends before the program's first period is a ConfigError.
        """
        period = require_closed(self.program.period(day), now or self.clock())
        if period.end <= self.program.period(self.program.start).start:
            raise ConfigError(f"period {period.key} is before program {self.program.name} starts")
        return await self._run(period)

    async def run_due(self, now: datetime | None = None) -> list[RunReport]:
        """Pay every closed period since the program's start that is not paid yet, oldest first.

        Raises PoolUnderfunded (with the report of the period it stopped in) when the pool runs
        dry; later periods are then left for the next call.
        """
        now = now or self.clock()
        program = self.program
        async with self.store.engine.connect() as conn:
            done = set(
                (
                    await conn.execute(
                        sa.select(runs_table.c.period_start).where(
                            runs_table.c.program == program.name,
                            runs_table.c.status == RUN_PAID,
                        )
                    )
                ).scalars()
            )
        reports = []
        for period in closed_periods(
            program.schedule, program.start, now, program.zone, program.week_start
        ):
            if period.start not in done:
                reports.append(await self._run(period))
        return reports

    async def report(self, day: date) -> RunReport | None:
        """The report of the run of the period containing ``day``, or None if it never ran."""
        period = self.program.period(day)
        async with self.store.engine.connect() as conn:
            run_id = (
                await conn.execute(
                    sa.select(runs_table.c.id).where(
                        runs_table.c.program == self.program.name,
                        runs_table.c.period_start == period.start,
                    )
                )
            ).scalar_one_or_none()
        return None if run_id is None else await self._report(run_id)

    async def _run(self, period: Period) -> RunReport:
        self._step("claim")
        run_id = await self.store.run(lambda conn: self._claim(conn, period))
        self._step("claimed")
        report = await self._report(run_id)
        paid_count, paid_amount = report.paid_count, report.paid_amount
        self._notify(report, paid_count, paid_amount)
        while True:
            chunk = await self._pay_chunk(run_id, period)
            if chunk is None:
                break
            paid_count += chunk.count
            paid_amount += chunk.amount
            self._step("chunk_committed")
            self._notify(report, paid_count, paid_amount)
            if chunk.short:
                stopped = await self._report(run_id)
                log.warning(
                    "reward run %s %s stopped: pool %s underfunded (%d paid, %d unpaid)",
                    self.program.name,
                    period.key,
                    self.program.pool_account,
                    stopped.paid_count,
                    stopped.unpaid_count,
                )
                raise PoolUnderfunded(
                    f"pool {self.program.pool_account} cannot pay the next payout of "
                    f"{self.program.name} {period.key}: {stopped.paid_count} paid "
                    f"({stopped.paid_amount}), {stopped.unpaid_count} unpaid "
                    f"({stopped.unpaid_amount}); fund the pool and run again",
                    report=stopped,
                )
        self._step("finishing")
        await self.store.run(lambda conn: self._finish(conn, run_id))
        self._step("finished")
        if self.program.payout == "onchain":
            await self._send_all(run_id, period)
        return await self._report(run_id)

    async def _send_all(self, run_id: int, period: Period) -> None:
        """Send every paid, unsent payout to its player's wallet; then mark the run paid.

        Each payout is a withdrawal with request id ``reward:<program>:<period>``, unique per
        player in the withdrawals service: a replay (after a crash, or from another replica)
        returns the same withdrawal and never sends twice. A refusal (no wallet, a limit, a
        bad address, the player already spent the reward) leaves the reward in the player's
        ledger balance and is recorded, so it is not retried by the run.
        """
        assert self.withdrawals is not None
        assert self.wallets is not None
        p = payouts_table
        request_id = f"reward:{self.program.name}:{period.key}"
        record = (
            p.update()
            .where(p.c.run_id == run_id, p.c.player_id == sa.bindparam("pid"))
            .values(send_status=sa.bindparam("st"), withdrawal_id=sa.bindparam("wid"))
        )
        while True:
            async with self.store.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        sa.select(p.c.player_id, p.c.amount)
                        .where(
                            p.c.run_id == run_id,
                            p.c.status == PAYOUT_PAID,
                            p.c.send_status.is_(None),
                        )
                        .order_by(p.c.player_id)
                        .limit(self.chunk_size)
                    )
                ).all()
            if not rows:
                break
            for row in rows:
                self._step("sending")
                status, withdrawal_id = await self._send_one(
                    row.player_id, int(row.amount), request_id
                )
                self._step("withdrawn")
                async with self.store.transaction() as conn:
                    await conn.execute(
                        record, {"pid": row.player_id, "st": status, "wid": withdrawal_id}
                    )
                self._step("sent")
        async with self.store.transaction() as conn:
            await conn.execute(
                runs_table.update()
                .where(runs_table.c.id == run_id, runs_table.c.status == RUN_SENDING)
                .values(status=RUN_PAID, finished_at=self.clock())
            )

    async def _send_one(
        self, player_id: str, amount: int, request_id: str
    ) -> tuple[str, str | None]:
        assert self.withdrawals is not None
        assert self.wallets is not None
        address = await self.wallets(player_id)
        if address is None:
            return SEND_NO_WALLET, None
        try:
            withdrawal = await self.withdrawals.withdraw(
                player_id, self.program.asset, amount, address, request_id=request_id
            )
        except (InvalidInput, LedgerError, PaymentError) as exc:
            log.warning("reward for %s not sent on-chain: %s", player_id, exc.code)
            return f"refused:{exc.code}"[:40], None
        return str(withdrawal.status), withdrawal.id

    def _notify(self, report: RunReport, paid_count: int, paid_amount: int) -> None:
        if self.progress is not None:
            self.progress(
                RunProgress(
                    program=report.program,
                    period=report.period,
                    players=report.players,
                    total=report.total,
                    paid_count=paid_count,
                    paid_amount=paid_amount,
                )
            )

    async def _claim(self, conn: AsyncConnection, period: Period) -> int:
        """Find the run of ``period``, or create it with every payout computed."""
        runs = runs_table
        program = self.program
        where = sa.and_(runs.c.program == program.name, runs.c.period_start == period.start)
        existing = (await conn.execute(sa.select(runs.c.id).where(where))).scalar_one_or_none()
        if existing is not None:
            return int(existing)
        values = {
            "program": program.name,
            "period_key": period.key,
            "period_start": period.start,
            "period_end": period.end,
            "asset": program.asset,
            "pool": program.pool_account,
            "program_hash": program.fingerprint(),
            "status": RUN_PAYING,
            "players": 0,
            "total": 0,
            "claimed_by": self.replica,
            "claimed_at": self.clock(),
        }
        insert = postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert
        statement = (
            insert(runs)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["program", "period_start"])
            .returning(runs.c.id)
        )
        run_id = (await conn.execute(statement)).scalar_one_or_none()
        if run_id is None:  # another replica committed it while we waited on the unique index
            return int((await conn.execute(sa.select(runs.c.id).where(where))).scalar_one())
        run_id = int(run_id)
        players, total = await self._compute_payouts(conn, run_id, period)
        await conn.execute(
            runs.update().where(runs.c.id == run_id).values(players=players, total=total)
        )
        self._step("computed")
        log.info(
            "reward run %s %s computed by %s: %d players, total %d",
            program.name,
            period.key,
            self.replica,
            players,
            total,
        )
        return run_id

    async def _compute_payouts(
        self, conn: AsyncConnection, run_id: int, period: Period
    ) -> tuple[int, int]:
        """Stream the period's activity, apply the rules, insert the non-zero payouts in chunks.

        Returns (players rewarded, total). The aggregation runs in the database; Python holds
        one chunk at a time.
        """
        players = total = 0
        insert = payouts_table.insert()
        async for chunk in stream_activity(conn, self.program, period, self.chunk_size):
            rows = []
            for activity in chunk:
                amount = reward_for(self.program, activity)
                if amount > 0:
                    rows.append(
                        {
                            "run_id": run_id,
                            "player_id": activity.player_id,
                            "purchases": activity.purchases,
                            "refunds": activity.refunds,
                            "active": activity.active,
                            "amount": amount,
                            "status": PAYOUT_PENDING,
                        }
                    )
                    total += amount
            if rows:
                players += len(rows)
                await conn.execute(insert, rows)
        return players, total

    async def _pending(self, conn: AsyncConnection, run_id: int) -> list[_Due]:
        p = payouts_table
        query = (
            sa.select(p.c.player_id, p.c.amount)
            .where(p.c.run_id == run_id, p.c.status == PAYOUT_PENDING)
            .order_by(p.c.player_id)
            .limit(self.chunk_size)
        )
        if self.store.dialect == "postgresql":
            # Take payouts no other replica is paying; if all are taken, wait for one to commit
            # and look again (rows it paid no longer match), so "nothing" means nothing pending.
            rows = (await conn.execute(query.with_for_update(skip_locked=True))).all()
            if not rows:
                rows = (await conn.execute(query.with_for_update())).all()
        else:
            rows = (await conn.execute(query)).all()  # BEGIN IMMEDIATE already serializes
        return [_Due(row.player_id, int(row.amount)) for row in rows]

    async def _post(
        self, conn: AsyncConnection, run_id: int, period: Period, due: Sequence[_Due]
    ) -> _Chunk:
        """Post ``due`` as one ledger batch and mark those payouts paid, in ``conn``'s tx."""
        program = self.program
        memo = f"reward {program.name} {period.key}"
        batch_id = reward_batch_id(program.name, period.key, [(d.player_id, d.amount) for d in due])
        specs = [
            TransferSpec(
                debit=program.pool_account,
                credit=player_account(item.player_id),
                asset=program.asset,
                amount=item.amount,
                kind=TransferKind.REWARD,
                memo=memo,
            )
            for item in due
        ]
        record = await self.ledger.batch(batch_id, specs, conn=conn)
        self._step("chunk_posted")
        p = payouts_table
        await conn.execute(
            p.update()
            .where(
                p.c.run_id == run_id,
                p.c.player_id == sa.bindparam("pid"),
                p.c.status == PAYOUT_PENDING,
            )
            .values(status=PAYOUT_PAID, transfer_id=sa.bindparam("tid"), paid_at=self.clock()),
            [
                {"pid": item.player_id, "tid": transfer.id}
                for item, transfer in zip(due, record.transfers, strict=True)
            ],
        )
        return _Chunk(count=len(due), amount=sum(item.amount for item in due))

    async def _pay_chunk(self, run_id: int, period: Period) -> _Chunk | None:
        """Pay the next pending payouts; None when nothing is pending."""

        async def whole(conn: AsyncConnection) -> _Chunk | None:
            due = await self._pending(conn, run_id)
            if not due:
                return None
            self._step("chunk_selected")
            return await self._post(conn, run_id, period, due)

        async def prefix(conn: AsyncConnection) -> _Chunk | None:
            due = await self._pending(conn, run_id)
            if not due:
                return None
            self._step("chunk_selected")
            balance = await self._pool_available(conn)
            fits: list[_Due] = []
            for item in due:
                if item.amount > balance:
                    break
                balance -= item.amount
                fits.append(item)
            if not fits:
                return _Chunk(0, 0, short=True)
            chunk = await self._post(conn, run_id, period, fits)
            return _Chunk(chunk.count, chunk.amount, short=True)

        try:
            return await self.store.run(whole)
        except InsufficientFunds:
            pass
        try:
            return await self.store.run(prefix)
        except InsufficientFunds:  # drained by someone else meanwhile
            return _Chunk(0, 0, short=True)

    async def _pool_available(self, conn: AsyncConnection) -> int:
        b = balances_table
        query = sa.select(b.c.available).where(
            b.c.account_id == self.program.pool_account, b.c.asset == self.program.asset
        )
        if self.store.dialect == "postgresql":
            query = query.with_for_update()
        value = (await conn.execute(query)).scalar_one_or_none()
        return 0 if value is None else max(0, int(value))

    async def _finish(self, conn: AsyncConnection, run_id: int) -> None:
        p = payouts_table
        pending = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(p)
                .where(p.c.run_id == run_id, p.c.status == PAYOUT_PENDING)
            )
        ).scalar_one()
        if pending:
            return  # another replica is still paying; it will finish the run
        if self.program.payout == "onchain":
            await conn.execute(
                runs_table.update()
                .where(runs_table.c.id == run_id, runs_table.c.status == RUN_PAYING)
                .values(status=RUN_SENDING)
            )
            return
        await conn.execute(
            runs_table.update()
            .where(runs_table.c.id == run_id, runs_table.c.status != RUN_PAID)
            .values(status=RUN_PAID, finished_at=self.clock())
        )

    async def _report(self, run_id: int) -> RunReport:
        p = payouts_table
        r = runs_table
        async with self.store.engine.connect() as conn:
            run = (await conn.execute(sa.select(r).where(r.c.id == run_id))).one()
            rows = (
                await conn.execute(
                    sa.select(
                        p.c.status,
                        sa.func.count(),
                        sa.func.coalesce(big_sum(p.c.amount), 0, type_=Amount()),
                    )
                    .where(p.c.run_id == run_id)
                    .group_by(p.c.status)
                )
            ).all()
            sends: dict[str, int] = {}
            if self.program.payout == "onchain":
                send_rows = await conn.execute(
                    sa.select(p.c.send_status, sa.func.count())
                    .where(p.c.run_id == run_id)
                    .group_by(p.c.send_status)
                )
                sends = {row[0] or "unsent": int(row[1]) for row in send_rows}
        by_status = {row[0]: (int(row[1]), int(row[2])) for row in rows}
        paid = by_status.get(PAYOUT_PAID, (0, 0))
        unpaid = by_status.get(PAYOUT_PENDING, (0, 0))
        return RunReport(
            program=run.program,
            period=run.period_key,
            run_id=int(run.id),
            status=run.status,
            players=int(run.players),
            total=int(run.total),
            paid_count=paid[0],
            paid_amount=paid[1],
            unpaid_count=unpaid[0],
            unpaid_amount=unpaid[1],
            sends=sends,
        )
