"""`gamepay serve`'s scheduler: closed periods paid once by replicas ticking on their own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from gamepay.cli.scheduler import Scheduler, describe, rewards_job, scheduler_for
from gamepay.config import Settings
from gamepay.errors import ConfigError
from gamepay.ledger import Ledger
from gamepay.metrics import Metrics
from gamepay.rewards import Program, RewardRunner, runners_for
from gamepay.store import Store
from gamepay.testing import fresh_postgres_database, sqlite_url
from tests.support.rewards import (
    Clock,
    World,
    open_world,
    program_for,
    reward_transfers,
    run_statuses,
    within,
)

NOV = date(2026, 11, 1)
NOW = datetime(2026, 12, 5, tzinfo=UTC)  # November (Berlin) is closed, December is open


async def _until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` is true (polling), or fail after 30 s."""
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 (the schedulers expose counters, not events)
            await asyncio.sleep(0.02)


async def test_two_replicas_schedulers_pay_a_closed_period_once(pg_url: str) -> None:
    """Two schedulers (own stores, one PostgreSQL database) tick on their own, fast and at
    once: the closed period is paid, every player once; the open period is never touched;
    each tick is counted in /metrics."""
    async with fresh_postgres_database(pg_url) as url:
        world = await open_world(url)
        other = await Store.connect(url)
        try:
            program = program_for("tick", world.asset, cashback_bps=100, active_bonus=1)
            await world.buyers(program, NOV, "t", 30)
            await world.purchase(NOW, "open:buy", "t00", 10**6)  # December: still open
            clock = Clock(NOW)
            metrics = [Metrics(), Metrics()]
            schedulers = [
                Scheduler(
                    [rewards_job([RewardRunner(store, ledger, program)], 0.02)],
                    metrics=m,
                    clock=clock,
                )
                for (store, ledger), m in zip(
                    ((world.store, world.ledger), (other, Ledger(other, clock=clock))),
                    metrics,
                    strict=True,
                )
            ]
            for scheduler in schedulers:
                scheduler.start()
            try:
                await _until(lambda: all(s.ticks["rewards"] >= 5 for s in schedulers))
            finally:
                for scheduler in schedulers:
                    await scheduler.stop()
            expected = sorted((f"player:t{i:02d}", (1000 + i) // 100 + 1) for i in range(30))
            assert await reward_transfers(world.store, program) == expected
            assert await run_statuses(world.store) == ["paid"]
            assert (await world.ledger.verify()).ok
            for m, scheduler in zip(metrics, schedulers, strict=True):
                job = {"job": "rewards"}
                assert m.value("gamepay_scheduler_runs_total", job) == scheduler.ticks["rewards"]
                assert m.value("gamepay_scheduler_failures_total", job) == 0
                last = m.value("gamepay_scheduler_last_run_timestamp_seconds", job)
                assert last > 0
                assert m.value("gamepay_scheduler_next_run_timestamp_seconds", job) > last
                assert b'gamepay_scheduler_runs_total{job="rewards"}' in m.render()
        finally:
            await other.close()
            await world.store.close()


async def test_a_failed_tick_is_one_warning_and_counted_then_resumed(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """An underfunded pool fails the tick (one WARNING line naming the program, one failure in
    the metrics); after funding the pool the next tick pays the rest."""
    world = await open_world(sqlite_url(f"{tmp_path}/s.db"))
    try:
        program = program_for("dry", world.asset, active_bonus=10)
        await world.pool("dry", 15)  # one and a half payouts
        at = within(program, NOV)
        for i in range(3):
            await world.player(f"d{i}")
            await world.purchase(at(i), f"d{i}:buy", f"d{i}", 100)
        metrics = Metrics()
        job = rewards_job([RewardRunner(world.store, world.ledger, program)], 60)
        scheduler = Scheduler([job], metrics=metrics, clock=Clock(NOW))
        with caplog.at_level(logging.INFO, logger="gamepay.scheduler"):
            result = await scheduler.tick(job)
        assert result.failed
        lines = [r for r in caplog.records if r.name == "gamepay.scheduler"]
        assert len(lines) == 1
        assert lines[0].levelno == logging.WARNING
        assert "dry: pool_underfunded" in lines[0].getMessage()
        assert "\n" not in lines[0].getMessage()
        labels = {"job": "rewards"}
        assert metrics.value("gamepay_scheduler_failures_total", labels) == 1
        assert len(await reward_transfers(world.store, program)) == 1

        await world.pool("dry", 100)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="gamepay.scheduler"):
            result = await scheduler.tick(job)
        assert not result.failed
        assert [r.levelno for r in caplog.records if r.name == "gamepay.scheduler"] == [
            logging.INFO
        ]
        assert "1 period(s) run, 3 payout(s) paid in them" in caplog.records[-1].getMessage()
        assert await reward_transfers(world.store, program) == [
            ("player:d0", 10),
            ("player:d1", 10),
            ("player:d2", 10),
        ]
        assert metrics.value("gamepay_scheduler_runs_total", labels) == 2
        assert metrics.value("gamepay_scheduler_failures_total", labels) == 1
    finally:
        await world.store.close()


def _scheduler(settings: Settings, world: World, program: Program, metrics: Metrics) -> Scheduler:
    """serve's scheduler for these settings over the world's ledger, at NOW, no payments."""
    rewards = runners_for(world.store, world.ledger, [program])
    return scheduler_for(
        settings, rewards=rewards, payments=None, metrics=metrics, clock=Clock(NOW)
    )


async def test_disabled_scheduler_never_ticks(tmp_path: object) -> None:
    """All three intervals 0: no job, no run, no metric,
    even with a closed period due; with the tick on, the same setup pays it."""
    world = await open_world(sqlite_url(f"{tmp_path}/off.db"))
    try:
        program = program_for("off", world.asset, active_bonus=1)
        await world.pool("off", 100)
        await world.player("o1")
        await world.purchase(within(program, NOV)(5), "o1:buy", "o1", 10)
        metrics = Metrics()
        off = Settings(rewards_tick_s=0, reconcile_interval_s=0, expiry_sweep_s=0)
        scheduler = _scheduler(off, world, program, metrics)
        assert scheduler.jobs == ()
        assert describe(scheduler, off, [program]) == (
            "scheduler: rewards off; reconcile off; expiry off; renewal offers off"
        )
        scheduler.start()
        await asyncio.sleep(0.3)
        await scheduler.stop()
        assert await run_statuses(world.store) == []
        samples = [line for line in metrics.render().splitlines() if not line.startswith(b"#")]
        assert not [line for line in samples if line.startswith(b"gamepay_scheduler")]

        on = Settings(rewards_tick_s=0.05, reconcile_interval_s=0, expiry_sweep_s=0)
        scheduler = _scheduler(on, world, program, metrics)
        assert [job.name for job in scheduler.jobs] == ["rewards"]
        assert describe(scheduler, on, [program]).startswith(
            "scheduler: rewards every 0.05s (1 program(s)); reconcile off"
        )
        scheduler.start()
        await _until(lambda: scheduler.ticks["rewards"] >= 1)
        await scheduler.stop()
        assert await run_statuses(world.store) == ["paid"]
    finally:
        await world.store.close()


async def test_runners_for_builds_one_runner_per_program_and_refuses_a_name_twice(
    tmp_path: object,
) -> None:
    """The one factory of reward runners (the Economy's, hence the scheduler's): one per program
    by name, and a ConfigError naming a program declared twice."""
    world = await open_world(sqlite_url(f"{tmp_path}/names.db"))
    try:
        a = program_for("a", world.asset, active_bonus=1)
        b = program_for("b", world.asset, active_bonus=1)
        runners = runners_for(world.store, world.ledger, [a, b])
        assert {name: r.program for name, r in runners.items()} == {"a": a, "b": b}
        with pytest.raises(ConfigError, match="two reward programs are named 'a'"):
            runners_for(world.store, world.ledger, [a, b, a])
    finally:
        await world.store.close()
