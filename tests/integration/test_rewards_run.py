"""Reward runs on both backends: exact totals, exactly once, crash-resume, underfunded pools."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from itertools import count

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gamepay.errors import ConfigError, PeriodNotClosed, PoolUnderfunded
from gamepay.rewards import STEPS, Program, RewardRunner, RunReport, preview, write_preview
from gamepay.store.schema.rewards import runs_table
from tests.support.rewards import (
    Clock,
    World,
    open_world,
    payout_statuses,
    program_for,
    reward_transfers,
    within,
)

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
DEC_2 = datetime(2026, 12, 2, tzinfo=UTC)
NOV = date(2026, 11, 1)


class Crash(Exception):
    """The injected fault."""


def crash_at(k: int) -> tuple[list[str], Callable[[str], None]]:
    """A step hook that raises Crash on its k-th call (1-based), recording the steps it saw."""
    seen: list[str] = []

    def hook(step: str) -> None:
        assert step in STEPS
        seen.append(step)
        if len(seen) == k:
            raise Crash(step)

    return seen, hook


async def seed_history(world: World, program: Program, players: int, prefix: str) -> dict[str, int]:
    """Purchases/refunds/deposits inside and outside November; returns expected rewards."""
    at = within(program, NOV)
    period = program.period(NOV)
    expected: dict[str, int] = {}
    for i in range(players):
        pid = f"{prefix}{i:03d}"
        await world.player(pid)
        spent = 1000 * (i + 1)
        await world.purchase(at(60 + i), f"{pid}:buy", pid, spent)
        await world.purchase(period.end + timedelta(seconds=i), f"{pid}:late", pid, 5)
        await world.purchase(period.start - timedelta(seconds=1), f"{pid}:early", pid, 7)
        if i % 3 == 0:
            await world.refund(at(3600), f"{pid}:refund", pid, 100)
            spent -= 100
        expected[pid] = spent * 200 // 10_000 + 5
    return expected


async def test_run_pays_each_player_once_and_matches_preview(db_url: str) -> None:
    """A run pays what the preview showed; running again pays nothing more."""
    world = await open_world(db_url)
    try:
        program = program_for("basic", world.asset, cashback_bps=200, active_bonus=5)
        await world.pool("basic", 10**9)
        expected = await seed_history(world, program, 7, "b")
        payouts, totals = await preview(world.store, program, program.period(NOV))
        assert {p.player_id: p.amount for p in payouts} == expected
        assert totals.total == sum(expected.values())
        async with world.store.engine.connect() as conn:  # preview wrote nothing
            assert (
                await conn.execute(sa.select(sa.func.count()).select_from(runs_table))
            ).scalar() == 0
        runner = RewardRunner(world.store, world.ledger, program, clock=world.clock, chunk_size=3)
        with pytest.raises(ConfigError):
            await runner.run_period(date(2026, 10, 31), now=DEC_2)
        empty = io.StringIO()
        totals = await write_preview(world.store, program, program.period(date(2027, 1, 1)), empty)
        assert json.loads(empty.getvalue())["payouts"] == []
        assert (totals.players, totals.total) == (0, 0)
        with pytest.raises(PeriodNotClosed):
            await runner.run_period(NOV, now=datetime(2026, 11, 30, 22, 59, tzinfo=UTC))
        assert await runner.run_due(datetime(2026, 11, 30, 22, 59, tzinfo=UTC)) == []
        [report] = await runner.run_due(DEC_2)
        assert report.status == "paid"
        assert (report.paid_count, report.paid_amount) == (7, sum(expected.values()))
        assert await runner.run_due(DEC_2) == []
        again = await runner.run_period(NOV, now=DEC_2)
        assert again.paid_amount == report.paid_amount
        assert await reward_transfers(world.store, program) == sorted(
            (f"player:{p}", a) for p, a in expected.items()
        )
        assert (await world.ledger.verify()).ok
    finally:
        await world.store.close()


async def test_run_due_pays_every_closed_period_and_nothing_open(db_url: str) -> None:
    """Daily program: three closed days are paid, today is not; each period once."""
    world = await open_world(db_url)
    try:
        program = Program(
            name="daily",
            asset=world.asset,
            schedule="daily",
            timezone="America/New_York",
            start=date(2026, 10, 31),
            active_bonus=10,
        )
        await world.pool("daily", 10**6)
        await world.player("d1")
        for day in (date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)):
            start = program.period(day).start
            await world.purchase(start + timedelta(hours=1), f"d1:{day}", "d1", 50)
        now = program.period(date(2026, 11, 3)).start + timedelta(hours=2)
        runner = RewardRunner(world.store, world.ledger, program, clock=world.clock)
        reports = await runner.run_due(now)
        assert [r.period for r in reports] == ["2026-10-31", "2026-11-01", "2026-11-02"]
        assert await runner.run_due(now) == []
        assert await reward_transfers(world.store, program) == [("player:d1", 10)] * 3
    finally:
        await world.store.close()


async def test_dst_boundary_assigns_transfers_to_the_right_day(db_url: str) -> None:
    """Around New York's fall-back (2026-11-01, 25 h) each purchase lands in its local day."""
    world = await open_world(db_url)
    try:
        program = Program(
            name="nyc",
            asset=world.asset,
            schedule="daily",
            timezone="America/New_York",
            start=date(2026, 11, 1),
            cashback_bps=10_000,
        )
        await world.pool("nyc", 10**6)
        await world.player("n1")
        # 2026-11-02 04:30Z is 23:30 EST on Nov 1 (it would be Nov 2 under the old EDT offset).
        await world.purchase(datetime(2026, 11, 2, 4, 30, tzinfo=UTC), "n1:a", "n1", 11)
        # 2026-11-02 05:00Z is local midnight of Nov 2: the next period (half-open).
        await world.purchase(datetime(2026, 11, 2, 5, 0, tzinfo=UTC), "n1:b", "n1", 13)
        # 2026-11-01 03:59Z is 23:59 EDT on Oct 31: before the program starts.
        await world.purchase(datetime(2026, 11, 1, 3, 59, tzinfo=UTC), "n1:c", "n1", 17)
        runner = RewardRunner(world.store, world.ledger, program, clock=world.clock)
        reports = await runner.run_due(datetime(2026, 11, 3, 6, 0, tzinfo=UTC))
        assert [(r.period, r.paid_amount) for r in reports] == [
            ("2026-11-01", 11),
            ("2026-11-02", 13),
        ]
    finally:
        await world.store.close()


async def test_crash_at_every_step_then_resume(db_url: str) -> None:
    """A crash at any step (twice in a row), then a clean run: every player paid exactly once."""
    world = await open_world(db_url)
    try:
        players = await seed_history(
            world, program_for("seed", world.asset, cashback_bps=200, active_bonus=5), 5, "c"
        )
        clean_steps = None
        for k in count(1):
            program = program_for(f"crash{k}", world.asset, cashback_bps=200, active_bonus=5)
            await world.pool(program.name, 10**9)
            seen, hook = crash_at(k)
            runner = RewardRunner(
                world.store,
                world.ledger,
                program,
                clock=world.clock,
                chunk_size=2,
                hook=hook,
            )
            try:
                await runner.run_due(DEC_2)
            except Crash:
                pass
            else:
                clean_steps = seen
                break
            _, hook2 = crash_at(k)  # crash again at the same step of the resumed run
            retry = RewardRunner(
                world.store,
                world.ledger,
                program,
                clock=world.clock,
                chunk_size=2,
                hook=hook2,
            )
            with contextlib.suppress(Crash):
                await retry.run_due(DEC_2)
            resume = RewardRunner(
                world.store, world.ledger, program, clock=world.clock, chunk_size=2
            )
            await resume.run_due(DEC_2)
            assert await reward_transfers(world.store, program) == sorted(
                (f"player:{p}", a) for p, a in players.items()
            ), f"crash at step {k} ({seen[-1]})"
            assert set((await payout_statuses(world.store, program)).values()) == {"paid"}
            report = await resume.report(NOV)
            assert report is not None
            assert report.status == "paid"
        assert clean_steps is not None
        # 5 players in chunks of 2: claim, computed, claimed, 3 x (selected, posted, committed),
        # finishing, finished; every step was crashed at once.
        assert len(clean_steps) == 3 + 3 * 3 + 2
        assert (await world.ledger.verify()).ok
    finally:
        await world.store.close()


async def test_underfunded_pool_stops_cleanly_and_resumes(db_url: str) -> None:
    """The pool covers a prefix: paid; the rest reported unpaid, and paid after funding."""
    world = await open_world(db_url)
    try:
        program = program_for("thin", world.asset, active_bonus=100)
        for i in range(7):
            await world.player(f"u{i}")
            await world.purchase(within(program, NOV)(10 + i), f"u{i}:buy", f"u{i}", 1)
        await world.pool("thin", 250)
        runner = RewardRunner(world.store, world.ledger, program, clock=world.clock, chunk_size=5)
        with pytest.raises(PoolUnderfunded) as info:
            await runner.run_due(DEC_2)
        report = info.value.report
        assert isinstance(report, RunReport)
        assert (report.paid_count, report.paid_amount) == (2, 200)
        assert (report.unpaid_count, report.unpaid_amount) == (5, 500)
        assert report.status == "paying"
        assert (await world.ledger.balance("pool:thin", world.asset)).available == 50
        with pytest.raises(PoolUnderfunded) as again:  # still underfunded: nothing changes
            await runner.run_due(DEC_2)
        assert again.value.report.paid_count == 2
        await world.pool("thin", 1000)
        [done] = await runner.run_due(DEC_2)
        assert (done.status, done.paid_count, done.paid_amount) == ("paid", 7, 700)
        assert await reward_transfers(world.store, program) == [
            (f"player:u{i}", 100) for i in range(7)
        ]
        assert (await world.ledger.balance("pool:thin", world.asset)).available == 550
    finally:
        await world.store.close()


EVENT = st.tuples(
    st.integers(0, 5),  # player
    st.sampled_from(["purchase", "refund", "deposit"]),
    st.integers(1, 10**20),  # amount
    st.integers(-3 * 86400, 33 * 86400),  # seconds from the period start
)
_names = count()


@settings(
    max_examples=30 if CI else 8,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    events=st.lists(EVENT, max_size=25),
    cashback=st.integers(0, 20_000),
    tiers=st.lists(
        st.tuples(st.integers(1, 10**21), st.integers(0, 10**6), st.integers(0, 5_000)),
        max_size=3,
        unique_by=lambda t: t[0],
    ).map(sorted),
    bonus=st.integers(0, 1000),
    cap=st.none() | st.integers(0, 10**20),
    chunk=st.integers(1, 4),
)
async def test_paid_totals_equal_the_rules(
    db_url: str,
    events: list[tuple[int, str, int, int]],
    cashback: int,
    tiers: list[tuple[int, int, int]],
    bonus: int,
    cap: int | None,
    chunk: int,
) -> None:
    """For generated histories, what a run pays equals the rules applied in plain Python."""
    n = next(_names)
    world = await open_world(db_url, Clock(), code=f"g{n}")
    # Each example gets its own month (three apart), so the activity of earlier examples'
    # players (active in any asset counts) never falls into this example's period.
    month = date(2026 + (10 + 3 * n) // 12, (10 + 3 * n) % 12 + 1, 1)
    try:
        program = program_for(
            f"prop{n}",
            world.asset,
            cashback_bps=cashback,
            tiers=[{"min_net": t, "bonus": b, "rate_bps": r} for t, b, r in tiers],
            active_bonus=bonus,
            cap=cap,
        ).model_copy(update={"start": month})
        period = program.period(month)
        await world.pool(program.name, 10**40)
        players = {f"x{n}_{i}" for i, *_ in events}
        for pid in sorted(players):
            await world.player(pid, funds=10**30)
        for j, (i, kind, amount, offset) in enumerate(events):
            when = period.start + timedelta(seconds=offset)
            post = {"purchase": world.purchase, "refund": world.refund, "deposit": world.deposit}
            await post[kind](when, f"e{n}:{j}", f"x{n}_{i}", amount)
        # The model: plain Python over the generated events.
        want: dict[str, int] = {}
        for pid in players:
            mine = [
                (kind, amount)
                for i, kind, amount, offset in events
                if f"x{n}_{i}" == pid
                and period.start <= period.start + timedelta(seconds=offset) < period.end
            ]
            bought = sum(a for k, a in mine if k == "purchase")
            refunded = sum(a for k, a in mine if k == "refund")
            net = max(bought - refunded, 0)
            total = int(Fraction(net * cashback, 10_000))
            reached = [t for t in tiers if t[0] <= net]
            if reached:
                total += reached[-1][1] + int(Fraction(net * reached[-1][2], 10_000))
            if any(k in ("purchase", "deposit") for k, _ in mine):
                total += bonus
            if cap is not None:
                total = min(total, cap)
            if total:
                want[f"player:{pid}"] = total
        runner = RewardRunner(
            world.store, world.ledger, program, clock=world.clock, chunk_size=chunk
        )
        reports = await runner.run_due(period.end + timedelta(days=1))
        assert await reward_transfers(world.store, program) == sorted(want.items())
        assert [r.paid_amount for r in reports] == [sum(want.values())]
        assert reports[0].paid_count == len(want)
    finally:
        await world.store.close()
