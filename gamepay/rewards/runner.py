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
   to the player's wallet as a withdrawal (``gamepay.rewards.sending``: hold, one asset_pro
   transfer with a stable reference, post or void, reconciliation of unknown outcomes) with
   the request id ``reward:<program>:<period>``; then the run is paid.

An underfunded pool pays the longest prefix of the next chunk that the pool can cover, then
raises ``PoolUnderfunded`` carrying a ``RunReport`` of what is paid and what is not; running
again after funding the pool resumes where it stopped.

Runs and payouts move by the transition tables of ``gamepay.core.rewards``; every statement on
their tables is in ``gamepay.rewards.repository``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.accounts import player_account
from gamepay.core.rewards import RunStatus
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import ConfigError, InsufficientFunds, PoolUnderfunded
from gamepay.ledger import Ledger
from gamepay.rewards.compute import stream_activity
from gamepay.rewards.periods import Period, closed_periods, require_closed
from gamepay.rewards.programs import Program, reward_for
from gamepay.rewards.reports import RunProgress, RunReport
from gamepay.rewards.repository import RewardRepository
from gamepay.rewards.sending import PayoutSender, WalletLookup, WithdrawalSender
from gamepay.store import Store

__all__ = ["STEPS", "RewardRunner", "StepHook", "reward_batch_id", "runners_for"]

log = logging.getLogger("gamepay.rewards")

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
    program also needs ``withdrawals`` (the service that sends tokens, e.g.
    ``gamepay.withdrawals.Withdrawals``) and ``wallets`` (an async function from player id to
    wallet address, or None when the player has none).
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
        withdrawals: WithdrawalSender | None = None,
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
        self._rows = RewardRepository(store.dialect)

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
        done = await self.store.read(lambda conn: self._rows.paid_period_starts(conn, program.name))
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
        run_id = await self.store.read(
            lambda conn: self._rows.run_id(conn, self.program.name, period.start)
        )
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
            assert self.withdrawals is not None
            assert self.wallets is not None
            sender = PayoutSender(
                self.store,
                self._rows,
                self.withdrawals,
                self.wallets,
                asset=self.program.asset,
                chunk_size=self.chunk_size,
                clock=self.clock,
                step=self._step,
            )
            await sender.send_run(run_id, f"reward:{self.program.name}:{period.key}")
        return await self._report(run_id)

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
        program = self.program
        existing = await self._rows.run_id(conn, program.name, period.start)
        if existing is not None:
            return existing
        run_id = await self._rows.insert_run(
            conn,
            {
                "program": program.name,
                "period_key": period.key,
                "period_start": period.start,
                "period_end": period.end,
                "asset": program.asset,
                "pool": program.pool_account,
                "program_hash": program.fingerprint(),
                "claimed_by": self.replica,
                "claimed_at": self.clock(),
            },
        )
        if run_id is None:  # another replica committed it while we waited on the unique index
            found = await self._rows.run_id(conn, program.name, period.start)
            assert found is not None
            return found
        players, total = await self._compute_payouts(conn, run_id, period)
        await self._rows.set_run_totals(conn, run_id, players, total)
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
        async for chunk in stream_activity(conn, self.program, period, self.chunk_size):
            rows = []
            for activity in chunk:
                amount = reward_for(self.program, activity)
                if amount > 0:
                    rows.append(
                        {
                            "player_id": activity.player_id,
                            "purchases": activity.purchases,
                            "refunds": activity.refunds,
                            "active": activity.active,
                            "amount": amount,
                        }
                    )
                    total += amount
            if rows:
                players += len(rows)
                await self._rows.insert_payouts(conn, run_id, rows)
        return players, total

    async def _post(
        self, conn: AsyncConnection, run_id: int, period: Period, due: Sequence[tuple[str, int]]
    ) -> _Chunk:
        """Post ``due`` as one ledger batch and mark those payouts paid, in ``conn``'s tx."""
        program = self.program
        memo = f"reward {program.name} {period.key}"
        batch_id = reward_batch_id(program.name, period.key, due)
        specs = [
            TransferSpec(
                debit=program.pool_account,
                credit=player_account(player_id),
                asset=program.asset,
                amount=amount,
                kind=TransferKind.REWARD,
                memo=memo,
            )
            for player_id, amount in due
        ]
        record = await self.ledger.batch(batch_id, specs, conn=conn)
        self._step("chunk_posted")
        await self._rows.mark_paid(
            conn,
            run_id,
            [
                (player_id, transfer.id)
                for (player_id, _), transfer in zip(due, record.transfers, strict=True)
            ],
            self.clock(),
        )
        return _Chunk(count=len(due), amount=sum(amount for _, amount in due))

    async def _pay_chunk(self, run_id: int, period: Period) -> _Chunk | None:
        """Pay the next pending payouts; None when nothing is pending."""

        async def whole(conn: AsyncConnection) -> _Chunk | None:
            due = await self._rows.take_pending(conn, run_id, self.chunk_size)
            if not due:
                return None
            self._step("chunk_selected")
            return await self._post(conn, run_id, period, due)

        async def prefix(conn: AsyncConnection) -> _Chunk | None:
            due = await self._rows.take_pending(conn, run_id, self.chunk_size)
            if not due:
                return None
            self._step("chunk_selected")
            balance = await self._pool_available(conn)
            fits: list[tuple[str, int]] = []
            for player_id, amount in due:
                if amount > balance:
                    break
                balance -= amount
                fits.append((player_id, amount))
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
        pool, asset = self.program.pool_account, self.program.asset
        return max(0, await self.ledger.available_for_update(pool, asset, conn=conn))

    async def _finish(self, conn: AsyncConnection, run_id: int) -> None:
        if await self._rows.pending_count(conn, run_id):
            return  # another replica is still paying; it will finish the run
        if self.program.payout == "onchain":
            await self._rows.move_run(conn, run_id, [RunStatus.PAYING], RunStatus.SENDING)
            return
        await self._rows.move_run(
            conn,
            run_id,
            [RunStatus.PAYING, RunStatus.SENDING],
            RunStatus.PAID,
            finished_at=self.clock(),
        )

    async def _report(self, run_id: int) -> RunReport:
        sends = self.program.payout == "onchain"
        return await self.store.read(lambda conn: self._rows.report(conn, run_id, sends=sends))


def runners_for(
    store: Store,
    ledger: Ledger,
    programs: Sequence[Program],
    *,
    withdrawals: WithdrawalSender | None = None,
) -> dict[str, RewardRunner]:
    """One ``RewardRunner`` per program, by program name (ConfigError for a name given twice).

    What ``gamepay.Economy`` runs (``economy.rewards``), and so what ``serve``'s scheduler ticks.
    """
    runners: dict[str, RewardRunner] = {}
    for program in programs:
        if program.name in runners:
            raise ConfigError(f"two reward programs are named {program.name!r}")
        runners[program.name] = RewardRunner(store, ledger, program, withdrawals=withdrawals)
    return runners
