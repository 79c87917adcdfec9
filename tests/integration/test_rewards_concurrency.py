"""Two replicas running the same reward period at once: one payout per player, once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime

from gamepay.ledger import Ledger
from gamepay.rewards import RewardRunner
from gamepay.store import Store
from tests.support.rewards import (
    Clock,
    open_world,
    payout_statuses,
    program_for,
    reward_transfers,
    run_statuses,
)

NOV = date(2026, 11, 1)


async def test_two_replicas_pay_each_player_once(db_url: str) -> None:
    """Separate stores (connection pools) run run_due concurrently; every player is paid once."""
    world = await open_world(db_url)
    other = await Store.connect(db_url)
    try:
        program = program_for("race", world.asset, cashback_bps=100, active_bonus=1)
        await world.buyers(program, NOV, "r", 40)
        now = datetime(2026, 12, 5, tzinfo=UTC)
        clock = Clock(now)
        chunks = {"a": 0, "b": 0}

        def counter(name: str) -> Callable[[str], None]:
            def hook(step: str) -> None:
                if step == "chunk_committed":
                    chunks[name] += 1

            return hook

        runners = [
            RewardRunner(
                store, ledger, program, clock=clock, chunk_size=3, replica=name, hook=counter(name)
            )
            for store, ledger, name in (
                (world.store, world.ledger, "a"),
                (other, Ledger(other, clock=clock), "b"),
            )
        ]
        first = await asyncio.gather(*(r.run_due(now) for r in runners))
        statuses = sorted([r.status for r in reports] for reports in first)
        # A replica that starts after the other has finished finds the period paid: [].
        assert statuses in ([["paid"], ["paid"]], [[], ["paid"]])
        assert chunks["a"] + chunks["b"] == 14  # 40 payouts in chunks of 3, each chunk once
        for _ in range(2):  # the same schedule firing again on both replicas: nothing to do
            assert await asyncio.gather(*(r.run_due(now) for r in runners)) == [[], []]
        assert chunks["a"] + chunks["b"] == 14
        expected = sorted((f"player:r{i:02d}", (1000 + i) // 100 + 1) for i in range(40))
        assert await reward_transfers(world.store, program) == expected
        assert set((await payout_statuses(world.store, program)).values()) == {"paid"}
        assert await run_statuses(world.store) == ["paid"]
        assert (await world.ledger.verify()).ok
    finally:
        await other.close()
        await world.store.close()
