"""A hypothesis state machine over the inventory service (SQLite, and PostgreSQL when configured).

Random grants, spends, multi-operation executes, replays of used keys and keys reused for
another body run against the real service and a plain-dict model. After every step: each
player's balances equal the model's and are never negative, every asset's supply is conserved
(the issuer's balance is minus the players' total: nothing created or destroyed), and the
outbox holds exactly one ``balance_changed`` per asset of each fresh posting. Each example uses
fresh player and asset ids; ``verify()`` runs when it ends.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gamepay.bus.outbox import events_after
from gamepay.core.assets import Currency, Item
from gamepay.errors import AccountNotFound
from gamepay.inventory import Inventory, Operation, OperationKind
from gamepay.inventory.errors import InsufficientAsset, OperationConflict
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.testing import sqlite_url
from tests.support.ledger import migrated

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
MACHINE_SETTINGS = settings(
    max_examples=30 if CI else 6,
    stateful_step_count=30 if CI else 15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
_example_ids = itertools.count()

amounts = st.one_of(st.integers(1, 20), st.integers(1, 20), st.integers(1, 10**30))
operation_lists = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(list(OperationKind)), amounts),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
)
Body = tuple[tuple[Operation, ...], str]


@dataclass
class Model:
    """The plain-dict inventory the service must agree with."""

    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    postings: dict[tuple[str, str], Body] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)

    def outcome(self, player: str, ops: tuple[Operation, ...]) -> tuple[str, int] | None:
        """The first (asset, shortfall) the player is short of, or None when all can be paid."""
        for op in ops:
            have = self.balances.get((player, op.asset), 0)
            if op.kind is OperationKind.SPEND and have < op.amount:
                return op.asset, op.amount - have
        return None


class InventoryMachine(RuleBasedStateMachine):
    """Random inventory calls against the real service and the model."""

    url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.store = self.run(Store.connect(self.url, pool_size=2))
        self.ledger = Ledger(self.store)
        self.inventory = Inventory(self.ledger)
        self.model = Model()
        prefix = f"m{next(_example_ids)}"
        self.players = [f"{prefix}p{n}" for n in range(3)]
        self.assets = [
            self.run(self.ledger.register_asset(asset)).id
            for asset in (Item(f"{prefix}wood"), Item(f"{prefix}sword"), Currency(f"{prefix}g"))
        ]
        self.keys = itertools.count()

    def run(self, coro: Any) -> Any:
        """Run one coroutine on the machine's own event loop."""
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        """Check the whole ledger still verifies, then close the store and the loop."""
        try:
            report = self.run(self.ledger.verify())
            assert report.ok, report.problems
        finally:
            self.run(self.store.close())
            self.loop.close()

    def post(self, player: str, ops: tuple[Operation, ...], reason: str, key: str) -> None:
        """Call the service and check its answer against the model's expectation."""
        earlier = self.model.postings.get((player, key))
        if earlier is not None and earlier != (ops, reason):
            with pytest.raises(OperationConflict):
                self.run(self.inventory.execute(player, ops, key, reason=reason))
            return
        short = None if earlier is not None else self.model.outcome(player, ops)
        if short is not None:
            with pytest.raises(InsufficientAsset) as info:
                self.run(self.inventory.execute(player, ops, key, reason=reason))
            assert (info.value.asset_id, info.value.shortfall) == short
            return
        result = self.run(self.inventory.execute(player, ops, key, reason=reason))
        assert result.replayed is (earlier is not None)
        if earlier is None:
            self.model.postings[(player, key)] = (ops, reason)
            for op in ops:
                key_ = (player, op.asset)
                self.model.balances[key_] = self.model.balances.get(key_, 0) + op.delta
            self.model.events[player] = self.model.events.get(player, 0) + len(ops)
            assert len(result.events) == len(ops)
        else:
            assert result.events == ()
        for op in ops:
            assert result.balances[op.asset].available == self.model.balances[(player, op.asset)]

    def operations(self, raw: list[tuple[int, OperationKind, int]]) -> tuple[Operation, ...]:
        """Operations on this example's assets."""
        return tuple(Operation(kind, self.assets[a], amount) for a, kind, amount in raw)

    @rule(player=st.integers(0, 2), asset=st.integers(0, 2), amount=amounts)
    def grant(self, player: int, asset: int, amount: int) -> None:
        """Grant an asset under a fresh key."""
        ops = (Operation.grant(self.assets[asset], amount),)
        self.post(self.players[player], ops, "loot", f"k{next(self.keys)}")

    @rule(player=st.integers(0, 2), asset=st.integers(0, 2), amount=amounts)
    def spend(self, player: int, asset: int, amount: int) -> None:
        """Spend an asset under a fresh key (refused when the player holds too little)."""
        ops = (Operation.spend(self.assets[asset], amount),)
        self.post(self.players[player], ops, "use", f"k{next(self.keys)}")

    @rule(player=st.integers(0, 2), raw=operation_lists)
    def execute(self, player: int, raw: list[tuple[int, OperationKind, int]]) -> None:
        """Several grants and spends as one posting under a fresh key."""
        self.post(self.players[player], self.operations(raw), "craft", f"k{next(self.keys)}")

    @precondition(lambda self: bool(self.model.postings))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """Replay a posted key with its own body: the first posting, nothing moves."""
        (player, key), (ops, reason) = data.draw(
            st.sampled_from(sorted(self.model.postings.items(), key=str))
        )
        self.post(player, ops, reason, key)

    @precondition(lambda self: bool(self.model.postings))
    @rule(data=st.data(), raw=operation_lists, reason=st.sampled_from(["craft", "other"]))
    def reuse_key(
        self, data: st.DataObject, raw: list[tuple[int, OperationKind, int]], reason: str
    ) -> None:
        """Reuse a posted key with a random body: a replay if it matches, else a conflict."""
        player, key = data.draw(st.sampled_from(sorted(self.model.postings, key=str)))
        self.post(player, self.operations(raw), reason, key)

    @invariant()
    def balances_match_and_supply_is_conserved(self) -> None:
        """Players match the model and are never negative; each issuer is minus their total."""

        async def read() -> tuple[dict[tuple[str, str], int], dict[str, int], dict[str, int]]:
            players: dict[tuple[str, str], int] = {}
            for player in self.players:
                for asset, balance in (await self._balances(f"player:{player}")).items():
                    players[(player, asset)] = balance
            issuers = {}
            for asset in self.assets:
                issuers[asset] = sum((await self._balances(f"issuer:{asset}")).values())
            events = {}
            for player in self.players:
                found = await self.store.read(lambda c, p=player: events_after(c, p, 0, 10_000))
                events[player] = len(found)
            return players, issuers, events

        players, issuers, events = self.run(read())
        want = {k: v for k, v in self.model.balances.items() if v}
        assert {k: v for k, v in players.items() if v} == want
        assert all(v >= 0 for v in players.values())
        for asset in self.assets:
            held = sum(v for (_, a), v in players.items() if a == asset)
            assert issuers[asset] == -held
        assert events == {p: self.model.events.get(p, 0) for p in self.players}

    async def _balances(self, account: str) -> dict[str, int]:
        """An account's available balances (empty when it was never opened)."""
        try:
            found = await self.ledger.balances(account)
        except AccountNotFound:
            return {}
        return {asset: b.available for asset, b in found.items() if asset in self.assets}


def _run_machine(url: str) -> None:
    migrated(url)
    InventoryMachine.url = url
    run_state_machine_as_test(InventoryMachine, settings=MACHINE_SETTINGS)


def test_inventory_machine_sqlite(tmp_path: Path) -> None:
    """The inventory agrees with the model after every step on SQLite."""
    _run_machine(sqlite_url(tmp_path / "inventory.db"))


@pytest.mark.postgres
def test_inventory_machine_postgres(pg_machine_url: str) -> None:
    """The inventory agrees with the model after every step on PostgreSQL."""
    _run_machine(pg_machine_url)
