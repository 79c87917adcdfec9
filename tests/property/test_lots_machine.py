"""A hypothesis state machine over time-limited grants, spends, the clock and the expiry sweep
(SQLite, and PostgreSQL when configured).

The model keeps each player's untimed amount and lots (remaining, expiry). After every step:
what a player is shown equals the model's unexpired total (expired lots hidden even before the
sweep), the ledger holds the untimed amount plus every open lot, each asset's issuer is minus
the players' total (nothing created or destroyed), and no balance is negative. A sweep posts
exactly the expired remainders; a second sweep at once expires nothing. ``verify()`` runs when
each example ends.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from gamepay.core.assets import Currency
from gamepay.errors import AccountNotFound
from gamepay.inventory import InsufficientAsset, Inventory
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.testing import sqlite_url
from tests.property.test_inventory_machine import MACHINE_SETTINGS
from tests.support.ledger import migrated

HOUR = 3600
_example_ids = itertools.count()


@dataclass
class Holding:
    """One player's model: the untimed amount and the open lots as [remaining, expires_at]."""

    untimed: int = 0
    lots: list[list[Any]] = field(default_factory=list)

    def usable(self, now: datetime) -> int:
        """What the player may spend (and is shown): untimed plus unexpired lots."""
        return self.untimed + sum(r for r, at in self.lots if now < at)

    def held(self) -> int:
        """What the ledger holds for the player until the sweep: everything open."""
        return self.untimed + sum(r for r, _ in self.lots)

    def spend(self, amount: int, now: datetime) -> None:
        """Consume unexpired lots earliest expiry first, then the untimed part."""
        for lot in sorted((lot for lot in self.lots if now < lot[1]), key=lambda lot: lot[1]):
            taken = min(lot[0], amount)
            lot[0] -= taken
            amount -= taken
        self.untimed -= amount
        self.lots = [lot for lot in self.lots if lot[0] > 0]


class LotsMachine(RuleBasedStateMachine):
    """Random timed and untimed grants, spends, clock moves and sweeps against a model."""

    url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.store = self.run(Store.connect(self.url, pool_size=2))
        self.ledger = Ledger(self.store, clock=self.clock)
        self.inventory = Inventory(self.ledger, clock=self.clock)
        prefix = f"l{next(_example_ids)}"
        self.players = [f"{prefix}p{n}" for n in range(2)]
        self.asset = self.run(self.ledger.register_asset(Currency(f"{prefix}g"))).id
        self.model = {player: Holding() for player in self.players}
        self.keys = itertools.count()

    def clock(self) -> datetime:
        """The machine's time (the ledger and the inventory share it)."""
        return self.now

    def run(self, coro: Any) -> Any:
        """Run one coroutine on the machine's own event loop."""
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        """Sweep every lot left (examples share the database), check the whole ledger still
        verifies, then close the store and the loop."""
        try:
            self.now += timedelta(days=1000)
            self.run(self.inventory.sweep(limit=10_000))
            report = self.run(self.ledger.verify())
            assert report.ok, report.problems
        finally:
            self.run(self.store.close())
            self.loop.close()

    @rule(
        player=st.integers(0, 1),
        amount=st.integers(1, 50),
        hours=st.one_of(st.none(), st.sampled_from([1, 2, 24])),
    )
    def grant(self, player: int, amount: int, hours: int | None) -> None:
        """Grant untimed, or for 1, 2 or 24 hours."""
        name = self.players[player]
        duration = None if hours is None else hours * HOUR
        self.run(
            self.inventory.grant(
                name, self.asset, amount, "loot", f"g{next(self.keys)}", duration_s=duration
            )
        )
        holding = self.model[name]
        if duration is None:
            holding.untimed += amount
        else:
            holding.lots.append([amount, self.now + timedelta(seconds=duration)])

    @rule(player=st.integers(0, 1), amount=st.integers(1, 80))
    def spend(self, player: int, amount: int) -> None:
        """Spend; refused with the exact shortfall when expired amounts would be needed."""
        name = self.players[player]
        holding = self.model[name]
        usable = holding.usable(self.now)
        call = self.inventory.spend(name, self.asset, amount, "use", f"s{next(self.keys)}")
        if amount > usable:
            with pytest.raises(InsufficientAsset) as info:
                self.run(call)
            assert info.value.shortfall == amount - usable
            return
        self.run(call)
        holding.spend(amount, self.now)

    @rule(minutes=st.sampled_from([0, 30, 60, 90, 24 * 60]))
    def advance(self, minutes: int) -> None:
        """Move the clock (expiry lands exactly on a lot's end, too)."""
        self.now += timedelta(minutes=minutes)

    @rule()
    def sweep(self) -> None:
        """Sweep: exactly the expired remainders go back; a second sweep moves nothing."""
        due = sum(r for h in self.model.values() for r, at in h.lots if self.now >= at)
        count = sum(1 for h in self.model.values() for _, at in h.lots if self.now >= at)
        report = self.run(self.inventory.sweep())
        assert report.expired == count
        assert sum(report.by_asset.values()) == due
        for holding in self.model.values():
            holding.lots = [lot for lot in holding.lots if self.now < lot[1]]
        again = self.run(self.inventory.sweep())
        assert (again.expired, again.by_asset) == (0, {})

    @invariant()
    def shown_and_held_match_and_nothing_is_created(self) -> None:
        """Shown = unexpired total; ledger = everything open; issuer = minus the players."""

        async def read() -> tuple[dict[str, int], dict[str, int], int]:
            shown, held = {}, {}
            for name in self.players:
                found = await self.inventory.balances(name)
                shown[name] = found[self.asset].available if self.asset in found else 0
                held[name] = await self._available(f"player:{name}")
            return shown, held, await self._available(f"issuer:{self.asset}")

        shown, held, issuer = self.run(read())
        for name, holding in self.model.items():
            assert shown[name] == holding.usable(self.now)
            assert held[name] == holding.held() >= 0
        assert issuer == -sum(held.values())

    async def _available(self, account: str) -> int:
        """An account's available balance of the asset (0 when never opened)."""
        try:
            return (await self.ledger.balance(account, self.asset)).available
        except AccountNotFound:
            return 0


def _run_machine(url: str) -> None:
    migrated(url)
    LotsMachine.url = url
    run_state_machine_as_test(LotsMachine, settings=MACHINE_SETTINGS)


def test_lots_machine_sqlite(tmp_path: Path) -> None:
    """Lots, expiry and the sweep agree with the model after every step on SQLite."""
    _run_machine(sqlite_url(tmp_path / "lots.db"))


@pytest.mark.postgres
def test_lots_machine_postgres(pg_machine_url: str) -> None:
    """Lots, expiry and the sweep agree with the model after every step on PostgreSQL."""
    _run_machine(pg_machine_url)
