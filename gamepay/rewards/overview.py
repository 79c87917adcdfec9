"""What an operator sees of reward programs: periods run, payouts, a preview of the next period.

```python
overview = await program_overview(store, program, now=datetime.now(UTC))
overview.runs            # the latest runs, newest period first (status, players, total)
overview.next.totals     # the preview of the next period to pay (players, total)
run, payouts = await run_payouts(store, overview.runs[0].id, limit=100)
```

Read-only: the runs and payouts come from ``gamepay.rewards.repository``, the preview from
``gamepay.rewards.preview`` (the same set-based query a run uses; nothing is written). The next
period is the oldest closed period not paid yet (``due``: the scheduler pays it at its next
tick), else the period in progress (its preview counts the activity so far).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.errors import InvalidInput, RewardError
from gamepay.rewards.periods import Period, closed_periods, period_containing
from gamepay.rewards.preview import Payout, PreviewTotals, iter_payouts
from gamepay.rewards.programs import Program
from gamepay.rewards.reports import RunReport
from gamepay.rewards.repository import PayoutRow, RewardRepository, RunRow
from gamepay.store import Store

__all__ = [
    "NextPeriod",
    "ProgramOverview",
    "RunNotFound",
    "next_period",
    "program_overview",
    "run_payouts",
]


class RunNotFound(RewardError):
    """No reward run with that id."""

    code = "reward_run_not_found"


@dataclass(frozen=True, slots=True)
class NextPeriod:
    """The next period to pay, whether it is already ``due`` (closed), and its preview.

    ``top`` holds the largest would-be payouts (at most the overview's ``preview_limit``),
    largest first; ``totals`` covers every player.
    """

    period: Period
    due: bool
    totals: PreviewTotals
    top: tuple[Payout, ...]


@dataclass(frozen=True, slots=True)
class ProgramOverview:
    """One program, its latest runs (newest period first) and its next period."""

    program: Program
    runs: tuple[RunRow, ...]
    next: NextPeriod


async def next_period(store: Store, program: Program, now: datetime) -> tuple[Period, bool]:
    """The oldest closed period not paid yet (``True``: due), else the one in progress."""
    rows = RewardRepository(store.dialect)

    async def paid(conn: AsyncConnection) -> set[datetime]:
        return await rows.paid_period_starts(conn, program.name)

    done = await store.read(paid)
    for period in closed_periods(
        program.schedule, program.start, now, program.zone, program.week_start
    ):
        if period.start not in done:
            return period, True
    first = program.period(program.start)
    if now < first.start:
        return first, False
    return period_containing(program.schedule, now, program.zone, program.week_start), False


async def program_overview(
    store: Store,
    program: Program,
    *,
    now: datetime,
    runs_limit: int = 12,
    preview_limit: int = 20,
) -> ProgramOverview:
    """The program's latest ``runs_limit`` runs and the preview of its next period."""
    if not 0 < runs_limit <= 500 or not 0 <= preview_limit <= 500:
        raise InvalidInput("runs_limit is 1-500 and preview_limit 0-500")
    rows = RewardRepository(store.dialect)

    async def runs(conn: AsyncConnection) -> list[RunRow]:
        return await rows.runs(conn, program.name, runs_limit)

    latest = await store.read(runs)
    period, due = await next_period(store, program, now)
    seen = players = total = 0
    top: list[tuple[int, str, Payout]] = []
    async for count, chunk in iter_payouts(store, program, period):
        seen += count
        for payout in chunk:
            players += 1
            total += payout.amount
            item = (payout.amount, payout.player_id, payout)
            if len(top) < preview_limit:
                heapq.heappush(top, item)
            elif preview_limit and item[:2] > top[0][:2]:
                heapq.heapreplace(top, item)
    totals = PreviewTotals.of(program, period, players_seen=seen, players=players, total=total)
    largest = tuple(p for _, _, p in sorted(top, key=lambda t: (-t[0], t[1])))
    return ProgramOverview(program, tuple(latest), NextPeriod(period, due, totals, largest))


async def run_payouts(
    store: Store, run_id: int, *, after: str | None = None, limit: int = 100
) -> tuple[RunRow, RunReport, list[PayoutRow]]:
    """A run, its report (paid and unpaid counts and amounts) and one page of its payouts
    (by player id, after ``after``); RunNotFound when there is no such run."""
    if not 0 < limit <= 1000:
        raise InvalidInput("a page of payouts holds 1-1000 rows")
    rows = RewardRepository(store.dialect)

    async def read(conn: AsyncConnection) -> tuple[RunRow, RunReport, list[PayoutRow]] | None:
        run = await rows.run(conn, run_id)
        if run is None:
            return None
        report = await rows.report(conn, run_id, sends=True)
        return run, report, await rows.payouts(conn, run_id, after, limit)

    found = await store.read(read)
    if found is None:
        raise RunNotFound(f"no reward run {run_id}")
    return found
