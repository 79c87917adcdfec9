"""Time-limited grants on both backends: lots, expiry hidden before the sweep, spends earliest
expiry first, an idempotent sweep posted as transfers, replays, and two sweepers at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from gamepay.bus.outbox import events_after
from gamepay.core.assets import Currency, Item
from gamepay.core.transfers import TransferKind
from gamepay.errors import InvalidInput
from gamepay.inventory import InsufficientAsset, Inventory, Operation, OperationConflict
from gamepay.ledger import Ledger
from gamepay.ledger.lots import LotState, expiry_transfer_id, lots_by_id
from gamepay.store import Store

PASS, GEM = "item:vip", "currency:gem"
DAY = 86400
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = START

    def __call__(self) -> datetime:
        """The time now."""
        return self.now

    def advance(self, seconds: int) -> None:
        """Move the time forward."""
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    """A migrated store with a clock, its ledger (vip pass, gems) and the inventory."""

    store: Store
    ledger: Ledger
    inventory: Inventory
    clock: Clock

    async def shown(self, asset: str, player: str = "alice") -> int:
        """What the player sees of ``asset`` (expired lots hidden)."""
        found = await self.inventory.balances(player)
        return found[asset].available if asset in found else 0

    async def ledger_available(self, asset: str, player: str = "alice") -> int:
        """The player's ledger balance of ``asset`` (expired lots included until swept)."""
        return (await self.ledger.balance(f"player:{player}", asset)).available


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    """A fresh world on the current backend, its clock at START."""
    store = await Store.connect(db_url, pool_size=10, max_overflow=0, max_retries=50)
    await store.migrate()
    clock = Clock()
    ledger = Ledger(store, clock=clock)
    for asset in (Item("vip"), Currency("gem", 2)):
        await ledger.register_asset(asset)
    try:
        yield World(store, ledger, Inventory(ledger, clock=clock), clock)
    finally:
        await store.close()


async def test_expired_lot_stops_counting_then_sweep_posts_it_back(world: World) -> None:
    """A 7-day pass counts for 7 days, is hidden from then on, and one sweep posts it back."""
    granted = await world.inventory.grant("alice", PASS, 1, "vip week", "vip-1", duration_s=7 * DAY)
    assert granted.balances[PASS].available == 1
    world.clock.advance(7 * DAY - 1)
    assert await world.shown(PASS) == 1
    world.clock.advance(1)
    assert await world.shown(PASS) == 0  # expired, not yet swept
    assert await world.ledger_available(PASS) == 1
    report = await world.inventory.sweep()
    assert (report.expired, report.skipped, report.by_asset) == (1, 0, {PASS: 1})
    assert await world.ledger_available(PASS) == 0
    assert (await world.ledger.balance(f"issuer:{PASS}", PASS)).available == 0
    lot_id = f"{granted.id}/0"
    transfer = await world.ledger.get_transfer(expiry_transfer_id(lot_id))
    assert transfer is not None
    assert transfer.kind == TransferKind.EXPIRY
    assert (transfer.debit, transfer.credit, transfer.amount) == (
        "player:alice",
        f"issuer:{PASS}",
        1,
    )
    [event] = report.events
    assert (event.payload["reason"], event.payload["delta"], event.payload["available"]) == (
        "expired",
        "-1",
        "0",
    )
    again = await world.inventory.sweep()
    assert (again.expired, again.skipped, again.events) == (0, 0, ())
    assert (await world.ledger.verify()).ok


async def test_spends_consume_earliest_expiry_first_then_the_untimed_part(world: World) -> None:
    """Spends take the lot expiring first, then the next, and the untimed gems last."""
    inv = world.inventory
    await inv.grant("alice", GEM, 300, "bought", "plain")
    late = await inv.grant("alice", GEM, 200, "event", "late", duration_s=10 * DAY)
    early = await inv.grant("alice", GEM, 200, "event", "early", duration_s=5 * DAY)
    spent = await inv.spend("alice", GEM, 300, "shop", "s-1")
    assert spent.balances[GEM].available == 400
    lots = await world.store.read(lambda c: lots_by_id(c, [f"{early.id}/0", f"{late.id}/0"]))
    assert lots[f"{early.id}/0"].state is LotState.USED
    assert lots[f"{late.id}/0"].remaining == 100
    world.clock.advance(10 * DAY)
    assert await world.shown(GEM) == 300  # the late lot's 100 are hidden
    report = await inv.sweep()
    assert report.by_asset == {GEM: 100}
    assert report.expired == 1
    assert await world.ledger_available(GEM) == 300
    assert (await world.ledger.verify()).ok


async def test_a_spend_cannot_use_expired_amounts(world: World) -> None:
    """Before the sweep, expired gems are refused with the exact shortfall; nothing moves."""
    inv = world.inventory
    await inv.grant("alice", GEM, 200, "plain", "plain")
    await inv.grant("alice", GEM, 500, "event", "ev", duration_s=DAY)
    world.clock.advance(DAY)
    with pytest.raises(InsufficientAsset) as info:
        await inv.spend("alice", GEM, 300, "shop", "s-1")
    assert (info.value.asset_id, info.value.shortfall) == (GEM, 100)
    with pytest.raises(InsufficientAsset) as info:  # the ledger itself refuses: same rule
        await inv.spend("alice", GEM, 800, "shop", "s-2")
    assert info.value.shortfall == 600
    assert await world.ledger_available(GEM) == 700
    done = await inv.spend("alice", GEM, 200, "shop", "s-3")
    assert done.balances[GEM].available == 0
    report = await inv.sweep()
    assert report.by_asset == {GEM: 500}
    assert await world.ledger_available(GEM) == 0


async def test_replays_of_timed_grants(world: World) -> None:
    """A timed grant replayed returns the first posting; another duration is a conflict."""
    inv = world.inventory
    first = await inv.grant("alice", PASS, 1, "vip", "k", duration_s=DAY)
    again = await inv.grant("alice", PASS, 1, "vip", "k", duration_s=DAY)
    assert again.replayed
    assert again.id == first.id
    with pytest.raises(OperationConflict):
        await inv.grant("alice", PASS, 1, "vip", "k", duration_s=2 * DAY)
    with pytest.raises(OperationConflict):
        await inv.grant("alice", PASS, 1, "vip", "k")
    await inv.grant("alice", PASS, 1, "vip", "untimed")
    with pytest.raises(OperationConflict):
        await inv.grant("alice", PASS, 1, "vip", "untimed", duration_s=DAY)
    world.clock.advance(DAY)
    assert await world.shown(PASS) == 1
    events = await world.store.read(lambda c: events_after(c, "alice", 0, 100))
    assert len(events) == 2  # one per fresh posting


async def test_bad_durations_are_refused() -> None:
    """A duration must be whole positive seconds, on grants only."""
    for bad in (0, -1, 1.5, True, 10**12):
        with pytest.raises(InvalidInput):
            Operation.grant(PASS, 1, duration_s=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Operation(Operation.spend(PASS, 1).kind, PASS, 1, DAY)


async def test_two_sweepers_at_once_expire_each_lot_once(world: World, db_url: str) -> None:
    """Two replicas sweeping the same lots concurrently post each expiry exactly once."""
    inv = world.inventory
    for n in range(12):
        await inv.grant(f"p{n % 4}", GEM, 10 + n, "event", f"g{n}", duration_s=DAY)
    world.clock.advance(DAY)
    other_store = await Store.connect(db_url, pool_size=5, max_overflow=0, max_retries=50)
    try:
        other = Inventory(Ledger(other_store, clock=world.clock), clock=world.clock)
        first, second = await asyncio.gather(inv.sweep(), other.sweep())
    finally:
        await other_store.close()
    assert first.expired + second.expired == 12
    assert first.skipped + second.skipped + first.expired + second.expired >= 12
    total = sum(first.by_asset.values()) + sum(second.by_asset.values())
    assert total == sum(10 + n for n in range(12))
    for n in range(4):
        assert await world.ledger_available(GEM, f"p{n}") == 0
    assert (await world.ledger.verify()).ok
