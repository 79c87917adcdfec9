"""A hypothesis state machine over trades (SQLite, and PostgreSQL when configured).

Random offers, accepts, declines, cancels, clock moves and expiry sweeps, interleaved with the
inventory's grants and multi-operation executes, and bursts of concurrent accepts of one trade
through two replicas (two stores on their own engines), run against the real services and a
plain-dict model. After every step: each player's available and held balances equal the
model's and are never negative; every asset's supply is conserved (its issuer is minus what the
players hold, held included: nothing created or destroyed); every trade has the model's status,
its holds are pending while it is open and posted (accepted) or voided (otherwise) once it is
closed, so no hold is left behind; a trade's recipient side moved at most once (one settlement
batch, and only for an accepted trade) and each player got at most one ``trade_changed`` per
final status. ``verify()`` runs when each example ends.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gamepay.bus.outbox import events_after
from gamepay.core.assets import Currency, Item
from gamepay.core.holds import HoldStatus
from gamepay.core.trades import TradeStatus, hold_id, settlement_id
from gamepay.errors import AccountNotFound, InvalidInput
from gamepay.inventory import Inventory, Operation, OperationKind, Trades
from gamepay.inventory.errors import (
    InsufficientAsset,
    SelfTrade,
    TradeClosed,
    TradeExpired,
    TradeForbidden,
)
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.testing import sqlite_url
from tests.support.ledger import migrated

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
MACHINE_SETTINGS = settings(
    max_examples=25 if CI else 5,
    stateful_step_count=50 if CI else 15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
_example_ids = itertools.count()
START = datetime(2030, 1, 1, tzinfo=UTC)

amounts = st.integers(1, 12)
operation_lists = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(list(OperationKind)), amounts),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
)
Lines = tuple[tuple[str, int], ...]


class Clock:
    """The trades' clock, moved by the machine."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        """The machine's time."""
        return self.now


@dataclass
class ModelTrade:
    """What the model expects of one trade."""

    id: str
    proposer: str
    recipient: str
    give: Lines
    want: Lines
    expires_at: datetime
    status: TradeStatus = TradeStatus.OPEN
    closed_key: tuple[str, str] | None = None


@dataclass
class Model:
    """Available and held balances by (player, asset), and the trades in offer order."""

    available: dict[tuple[str, str], int] = field(default_factory=dict)
    held: dict[tuple[str, str], int] = field(default_factory=dict)
    trades: list[ModelTrade] = field(default_factory=list)

    def add(self, book: dict[tuple[str, str], int], player: str, asset: str, delta: int) -> None:
        """Change one balance of the model."""
        book[(player, asset)] = book.get((player, asset), 0) + delta

    def short(self, player: str, lines: Lines) -> tuple[str, int] | None:
        """The first (asset, shortfall) of ``lines`` the player cannot cover, or None."""
        for asset, amount in lines:
            have = self.available.get((player, asset), 0)
            if have < amount:
                return asset, amount - have
        return None

    def release(self, trade: ModelTrade, status: TradeStatus) -> None:
        """Close a trade without settling it: the proposer's side is available again."""
        trade.status = status
        for asset, amount in trade.give:
            self.add(self.held, trade.proposer, asset, -amount)
            self.add(self.available, trade.proposer, asset, amount)

    def settle(self, trade: ModelTrade) -> None:
        """Accept a trade: the held side goes to the recipient, the wanted side to the proposer."""
        trade.status = TradeStatus.ACCEPTED
        for asset, amount in trade.give:
            self.add(self.held, trade.proposer, asset, -amount)
            self.add(self.available, trade.recipient, asset, amount)
        for asset, amount in trade.want:
            self.add(self.available, trade.recipient, asset, -amount)
            self.add(self.available, trade.proposer, asset, amount)


class TradeMachine(RuleBasedStateMachine):
    """Random trades and inventory postings against the real services and the model."""

    url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        index = next(_example_ids)
        self.clock = Clock(START + timedelta(days=40 * index))
        self.store = self.run(Store.connect(self.url, pool_size=6, max_retries=50))
        self.other = self.run(Store.connect(self.url, pool_size=6, max_retries=50))
        self.ledger = Ledger(self.store)
        self.inventory = Inventory(self.ledger)
        self.trades = Trades(self.ledger, clock=self.clock)
        self.replica = Trades(Ledger(self.other), clock=self.clock)
        self.model = Model()
        prefix = f"t{index}"
        self.players = [f"{prefix}p{n}" for n in range(3)]
        self.assets = [
            self.run(self.ledger.register_asset(asset)).id
            for asset in (Item(f"{prefix}sword"), Item(f"{prefix}wood"), Currency(f"{prefix}g"))
        ]
        self.keys = itertools.count()

    def run(self, coro: Any) -> Any:
        """Run one coroutine on the machine's own event loop."""
        return self.loop.run_until_complete(coro)

    def key(self) -> str:
        """A fresh idempotency key."""
        return f"k{next(self.keys)}"

    def teardown(self) -> None:
        """Expire what is left (so later examples' sweeps find only their own), check the whole
        ledger still verifies, close the stores and the loop."""
        try:
            self.clock.now += timedelta(days=31)
            self.run(self.trades.expire_due(limit=10_000))
            report = self.run(self.ledger.verify())
            assert report.ok, report.problems
        finally:
            self.run(self.store.close())
            self.run(self.other.close())
            self.loop.close()

    @initialize()
    def stock(self) -> None:
        """Every player starts with 40 of every asset, so most offers can be covered."""
        for player in self.players:
            for asset in self.assets:
                self.run(self.inventory.grant(player, asset, 40, "stock", self.key()))
                self.model.add(self.model.available, player, asset, 40)

    # ------------------------------------------------------------------ inventory, interleaved

    @rule(player=st.integers(0, 2), raw=operation_lists)
    def execute(self, player: int, raw: list[tuple[int, OperationKind, int]]) -> None:
        """Grants and spends as one posting; refused (nothing moves) when a spend is short."""
        who = self.players[player]
        ops = [Operation(kind, self.assets[a], amount) for a, kind, amount in raw]
        spends = tuple((op.asset, op.amount) for op in ops if op.kind is OperationKind.SPEND)
        short = self.model.short(who, spends)
        if short is not None:
            with pytest.raises(InsufficientAsset):
                self.run(self.inventory.execute(who, ops, self.key(), reason="craft"))
            return
        self.run(self.inventory.execute(who, ops, self.key(), reason="craft"))
        for op in ops:
            self.model.add(self.model.available, who, op.asset, op.delta)

    @rule(player=st.integers(0, 2), asset=st.integers(0, 2), amount=st.integers(1, 30))
    def grant(self, player: int, asset: int, amount: int) -> None:
        """A loot drop."""
        who, what = self.players[player], self.assets[asset]
        self.run(self.inventory.grant(who, what, amount, "loot", self.key()))
        self.model.add(self.model.available, who, what, amount)

    # ------------------------------------------------------------------ trades

    @rule(
        proposer=st.integers(0, 2),
        offset=st.sampled_from([1, 2, 1, 2, 0]),
        order=st.permutations([0, 1, 2]),
        split=st.integers(1, 2),
        counts=st.tuples(amounts, amounts, amounts),
        overlap=st.sampled_from([False, False, False, False, True]),
        ttl=st.integers(1, 600),
    )
    def offer(
        self,
        proposer: int,
        offset: int,
        order: list[int],
        split: int,
        counts: tuple[int, int, int],
        overlap: bool,
        ttl: int,
    ) -> None:
        """An offer (mostly to another player, sides mostly disjoint): refused, holding nothing,
        for a self trade, an asset on both sides, or a short proposer."""
        a, b = self.players[proposer], self.players[(proposer + offset) % 3]
        lines = [(self.assets[i], counts[i]) for i in order]
        gives, wants = tuple(lines[:split]), tuple(lines[split:])
        if overlap:
            wants = (*wants, gives[0])
        call = self.trades.offer(a, b, list(gives), list(wants), ttl, self.key())
        if a == b:
            with pytest.raises(SelfTrade):
                self.run(call)
            return
        if {x for x, _ in gives} & {x for x, _ in wants}:
            with pytest.raises(InvalidInput):
                self.run(call)
            return
        short = self.model.short(a, gives)
        if short is not None:
            with pytest.raises(InsufficientAsset) as info:
                self.run(call)
            assert (info.value.asset_id, info.value.shortfall) == short
            return
        result = self.run(call)
        event("offer done")
        assert result.trade.status is TradeStatus.OPEN
        for asset, amount in gives:
            self.model.add(self.model.available, a, asset, -amount)
            self.model.add(self.model.held, a, asset, amount)
        self.model.trades.append(
            ModelTrade(result.trade.id, a, b, gives, wants, self.clock.now + timedelta(seconds=ttl))
        )

    def close(self, trade: ModelTrade, action: str, by: str, key: str) -> None:
        """Ask the service to ``action`` a trade as ``by``; check the answer, update the model."""
        service = self.trades if next(self.keys) % 2 else self.replica
        call = getattr(service, action)(trade.id, by, key)
        allowed = trade.recipient if action in ("accept", "decline") else trade.proposer
        if by != allowed:
            with pytest.raises(TradeForbidden):
                self.run(call)
            return
        if trade.status is not TradeStatus.OPEN:
            target = {"accept": "accepted", "decline": "declined", "cancel": "cancelled"}[action]
            if trade.closed_key == (by, key) and trade.status == target:
                assert self.run(call).replayed
                return
            with pytest.raises(TradeClosed):
                self.run(call)
            return
        if self.clock.now >= trade.expires_at:
            with pytest.raises(TradeExpired):
                self.run(call)
            self.model.release(trade, TradeStatus.EXPIRED)
            return
        short = self.model.short(trade.recipient, trade.want) if action == "accept" else None
        if short is not None:
            with pytest.raises(InsufficientAsset) as info:
                self.run(call)
            assert (info.value.asset_id, info.value.shortfall) == short
            return
        result = self.run(call)
        event(f"{action} done")
        assert not result.replayed
        trade.closed_key = (by, key)
        if action == "accept":
            self.model.settle(trade)
        else:
            self.model.release(
                trade, TradeStatus.DECLINED if action == "decline" else TradeStatus.CANCELLED
            )
        assert result.trade.status is trade.status

    @precondition(lambda self: bool(self.model.trades))
    @rule(
        data=st.data(),
        action=st.sampled_from(["accept", "accept", "decline", "cancel"]),
        who=st.sampled_from(["entitled", "entitled", "entitled", "other party", "stranger"]),
    )
    def act(self, data: st.DataObject, action: str, who: str) -> None:
        """Accept, decline or cancel a random trade, mostly as the player entitled to, else as
        its other party or a stranger, under a fresh key."""
        trade = data.draw(st.sampled_from(self.model.trades))
        entitled = trade.recipient if action in ("accept", "decline") else trade.proposer
        other = trade.proposer if entitled == trade.recipient else trade.recipient
        stranger = next(p for p in self.players if p not in (trade.proposer, trade.recipient))
        by = {"entitled": entitled, "other party": other, "stranger": stranger}[who]
        self.close(trade, action, by, self.key())

    @precondition(lambda self: any(t.closed_key for t in self.model.trades))
    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        """Resend the request that closed a trade: the same trade back, nothing moves."""
        trade = data.draw(st.sampled_from([t for t in self.model.trades if t.closed_key]))
        assert trade.closed_key is not None
        by, key = trade.closed_key
        action = {"accepted": "accept", "declined": "decline", "cancelled": "cancel"}
        self.close(trade, action[trade.status], by, key)

    @precondition(lambda self: bool(self.model.trades))
    @rule(data=st.data(), count=st.integers(2, 8))
    def race_accepts(self, data: st.DataObject, count: int) -> None:
        """``count`` concurrent accepts by the recipient through two replicas: one at most wins."""
        trade = data.draw(st.sampled_from(self.model.trades))
        services = [self.trades, self.replica]

        keys = [self.key() for _ in range(count)]

        async def race() -> list[Any]:
            calls = [
                services[n % 2].accept(trade.id, trade.recipient, key) for n, key in enumerate(keys)
            ]
            return await asyncio.gather(*calls, return_exceptions=True)

        outcomes = self.run(race())
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        if trade.status is not TradeStatus.OPEN:
            assert all(isinstance(o, TradeClosed) for o in outcomes), outcomes
        elif self.clock.now >= trade.expires_at:
            assert all(isinstance(o, TradeClosed) for o in outcomes), outcomes  # TradeExpired too
            self.model.release(trade, TradeStatus.EXPIRED)
        elif self.model.short(trade.recipient, trade.want) is not None:
            assert all(isinstance(o, InsufficientAsset) for o in outcomes), outcomes
        else:
            event("race settled")
            assert len(won) == 1, outcomes
            assert all(isinstance(o, TradeClosed) for o in outcomes if o not in won), outcomes
            self.model.settle(trade)
            trade.closed_key = (trade.recipient, keys[outcomes.index(won[0])])

    @rule(seconds=st.integers(1, 200))
    def tick(self, seconds: int) -> None:
        """Time passes (offers fall due; nothing happens until someone acts or sweeps)."""
        self.clock.now += timedelta(seconds=seconds)

    @rule()
    def sweep(self) -> None:
        """The sweep expires exactly the open trades that are due and releases their sides."""
        due = [
            t
            for t in self.model.trades
            if t.status is TradeStatus.OPEN and self.clock.now >= t.expires_at
        ]
        assert self.run(self.trades.expire_due(limit=10_000)) == len(due)
        for trade in due:
            self.model.release(trade, TradeStatus.EXPIRED)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def balances_match_and_nothing_is_created_or_destroyed(self) -> None:
        """Players match the model, never negative; each issuer is minus the players' total."""

        async def read() -> tuple[dict[tuple[str, str], tuple[int, int]], dict[str, int]]:
            players: dict[tuple[str, str], tuple[int, int]] = {}
            for player in self.players:
                for asset, pair in (await self._balances(f"player:{player}")).items():
                    players[(player, asset)] = pair
            issuers = {}
            for asset in self.assets:
                found = await self._balances(f"issuer:{asset}")
                issuers[asset] = sum(a + h for a, h in found.values())
            return players, issuers

        players, issuers = self.run(read())
        for player in self.players:
            for asset in self.assets:
                want = (
                    self.model.available.get((player, asset), 0),
                    self.model.held.get((player, asset), 0),
                )
                assert players.get((player, asset), (0, 0)) == want, (player, asset)
        assert all(a >= 0 and h >= 0 for a, h in players.values())
        for asset in self.assets:
            total = sum(a + h for (_, x), (a, h) in players.items() if x == asset)
            assert issuers[asset] == -total

    @invariant()
    def trades_settle_at_most_once_and_leave_no_hold_behind(self) -> None:
        """Status as modelled; holds pending iff open, posted iff accepted; one settlement."""

        async def check() -> None:
            pushes: dict[tuple[str, str, str], int] = {}
            for player in self.players:
                for found in await self.store.read(
                    lambda c, p=player: events_after(c, p, 0, 100_000)
                ):
                    if found.payload.get("trade_id") is None:
                        continue
                    mark = (player, found.payload["trade_id"], found.payload["status"])
                    pushes[mark] = pushes.get(mark, 0) + 1
            for trade in self.model.trades:
                found = await self.trades.get(trade.id, trade.proposer)
                assert found.status is trade.status, trade
                expected = {
                    TradeStatus.OPEN: HoldStatus.PENDING,
                    TradeStatus.ACCEPTED: HoldStatus.POSTED,
                }.get(trade.status, HoldStatus.VOIDED)
                for index in range(len(trade.give)):
                    hold = await self.ledger.get_hold(hold_id(trade.id, index))
                    assert hold.status is expected, (trade, hold)
                settled = await self.ledger.get_transfer(f"{settlement_id(trade.id)}/0")
                assert (settled is not None) is (trade.status is TradeStatus.ACCEPTED)
                for player in (trade.proposer, trade.recipient):
                    assert pushes.get((player, trade.id, "open")) == 1
                    if trade.status is not TradeStatus.OPEN:
                        assert pushes.get((player, trade.id, str(trade.status))) == 1

        self.run(check())

    async def _balances(self, account: str) -> dict[str, tuple[int, int]]:
        """An account's (available, held) balances of this example's assets."""
        try:
            found = await self.ledger.balances(account)
        except AccountNotFound:
            return {}
        return {a: (b.available, b.held) for a, b in found.items() if a in self.assets}


def _run_machine(url: str) -> None:
    migrated(url)
    TradeMachine.url = url
    run_state_machine_as_test(TradeMachine, settings=MACHINE_SETTINGS)


def test_trade_machine_sqlite(tmp_path: Path) -> None:
    """Trades agree with the model after every step on SQLite."""
    _run_machine(sqlite_url(tmp_path / "trades.db"))


@pytest.mark.postgres
def test_trade_machine_postgres(pg_machine_url: str) -> None:
    """Trades agree with the model after every step on PostgreSQL (two replicas race)."""
    _run_machine(pg_machine_url)
