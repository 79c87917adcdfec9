"""What the console shows of reward programs: runs, payouts pages, the next period's preview."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gamepay.core.rewards import PayoutStatus, RunStatus
from gamepay.rewards import RewardRunner
from gamepay.rewards.overview import RunNotFound, next_period, program_overview, run_payouts
from tests.support.rewards import Clock, open_world, program_for, within

DEC_2 = datetime(2026, 12, 2, tzinfo=UTC)
NOV = date(2026, 11, 1)
DEC = date(2026, 12, 1)


async def test_overview_lists_runs_and_previews_the_due_then_the_open_period(db_url: str) -> None:
    """Before any run the due period is November (closed, unpaid) with its exact preview; after
    the run November is listed paid with its payouts paged by player, and the next period is
    December in progress, previewing the activity so far."""
    world = await open_world(db_url, Clock(DEC_2))
    try:
        program = program_for("loyal", world.asset, cashback_bps=1000)
        await world.buyers(program, NOV, "n", 5)  # player i bought 1000 + i in November
        await world.player("d0")
        await world.purchase(within(program, DEC)(5), "d0:buy", "d0", 20_000)

        before = await program_overview(world.store, program, now=DEC_2, preview_limit=2)
        assert before.runs == ()
        assert (before.next.period.key, before.next.due) == ("2026-11-01", True)
        assert (before.next.totals.players, before.next.totals.total) == (5, 500)
        assert [(p.player_id, p.amount) for p in before.next.top] == [("n03", 100), ("n04", 100)]

        await RewardRunner(world.store, world.ledger, program, clock=world.clock).run_due()
        after = await program_overview(world.store, program, now=DEC_2)
        [run] = after.runs
        assert (run.period_key, run.status, run.players, run.total) == (
            "2026-11-01",
            RunStatus.PAID,
            5,
            500,
        )
        assert (after.next.period.key, after.next.due) == ("2026-12-01", False)
        assert [(p.player_id, p.amount) for p in after.next.top] == [("d0", 2000)]

        found, report, page = await run_payouts(world.store, run.id, limit=2)
        assert found == run
        assert (report.paid_count, report.paid_amount) == (5, 500)
        assert [p.player_id for p in page] == ["n00", "n01"]
        assert all(p.status is PayoutStatus.PAID and p.transfer_id for p in page)
        _, _, rest = await run_payouts(world.store, run.id, after="n01", limit=10)
        assert [(p.player_id, p.amount, p.purchases) for p in rest] == [
            ("n02", 100, 1002),
            ("n03", 100, 1003),
            ("n04", 100, 1004),
        ]
        with pytest.raises(RunNotFound):
            await run_payouts(world.store, run.id + 99)
    finally:
        await world.store.close()


async def test_a_program_not_started_yet_previews_its_first_period(db_url: str) -> None:
    """Before a program's start, its next period is its first one, not due."""
    world = await open_world(db_url, Clock(datetime(2026, 10, 3, tzinfo=UTC)))
    try:
        program = program_for("later", world.asset, cashback_bps=100)
        period, due = await next_period(world.store, program, world.clock.now)
        assert (period.key, due) == ("2026-11-01", False)
    finally:
        await world.store.close()
