"""The inventory service on both backends: grants, spends, crafting as one atomic idempotent
posting, typed errors, concurrent replays of one key, and the balance_changed events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from gamepay.bus.outbox import events_after
from gamepay.core.assets import Currency, Item, Token
from gamepay.core.events import Event, EventType
from gamepay.core.transfers import TransferKind
from gamepay.errors import (
    AssetNotFound,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidInput,
)
from gamepay.inventory import (
    InsufficientAsset,
    Inventory,
    Operation,
    OperationConflict,
    posting_id,
)
from gamepay.ledger import Ledger
from gamepay.store import Store
from tests.support.inventory import pushing_ledger

WOOD, GOLD, SWORD = "item:wood", "currency:gold", "item:sword"
ALICE = "player:alice"
RECIPE = [Operation.spend(WOOD, 3), Operation.spend(GOLD, 1), Operation.grant(SWORD, 1)]
USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)


@dataclass
class World:
    """A migrated store, its ledger with wood, gold, sword and a token, and the service."""

    store: Store
    ledger: Ledger
    inventory: Inventory
    pushed: list[Event]

    async def available(self, asset: str, account: str = ALICE) -> int:
        """An account's available balance of ``asset``."""
        return (await self.ledger.balance(account, asset)).available

    async def events(self, player: str = "alice") -> list[Event]:
        """Every outbox event of ``player``, oldest first."""
        return await self.store.read(lambda conn: events_after(conn, player, 0, 1000))


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    """A fresh world on the current backend (a pool wide enough for the concurrency test)."""
    assets = (Item("wood"), Currency("gold"), Item("sword"), USDT)
    async with pushing_ledger(db_url, assets, pool_size=25) as setup:
        inventory = Inventory(setup.ledger, publisher=setup.bus)
        yield World(setup.store, setup.ledger, inventory, setup.pushed)


async def test_grant_then_spend_moves_between_issuer_and_player(world: World) -> None:
    """A grant comes from issuer:<asset>, a spend goes back to it, with their transfer kinds."""
    granted = await world.inventory.grant("alice", GOLD, 50, "quest reward", "q1")
    assert not granted.replayed
    assert granted.balances[GOLD].available == 50
    spent = await world.inventory.spend("alice", GOLD, 20, "potion", "p1")
    assert spent.balances[GOLD].available == 30
    assert await world.available(GOLD) == 30
    assert await world.available(GOLD, f"issuer:{GOLD}") == -50 + 20
    history = (await world.ledger.history(ALICE, asset_id=GOLD)).entries
    kinds = [(t.kind, t.debit, t.credit, t.amount, t.memo) for t in history]
    assert kinds == [
        (TransferKind.SPEND, ALICE, f"issuer:{GOLD}", 20, "potion"),
        (TransferKind.GRANT, f"issuer:{GOLD}", ALICE, 50, "quest reward"),
    ]
    assert (await world.ledger.verify()).ok


async def test_each_posting_writes_and_pushes_balance_changed(world: World) -> None:
    """A fresh posting writes one balance_changed per asset to the outbox and pushes it."""
    await world.inventory.grant("alice", WOOD, 3, "chop", "c1")
    await world.inventory.grant("alice", GOLD, 1, "quest", "q1")
    crafted = await world.inventory.execute("alice", RECIPE, "craft-1", reason="craft sword")
    stored = await world.events()
    assert [e.type for e in stored] == [EventType.BALANCE_CHANGED] * 5
    assert stored[-3:] == list(crafted.events)
    assert [
        (e.payload["asset_id"], e.payload["delta"], e.payload["available"]) for e in stored[-3:]
    ] == [(WOOD, "-3", "0"), (GOLD, "-1", "0"), (SWORD, "1", "1")]
    assert {e.payload["posting_id"] for e in crafted.events} == {crafted.id}
    assert {e.payload["reason"] for e in crafted.events} == {"craft sword"}
    assert [e.id for e in world.pushed] == [e.id for e in stored]


async def test_spend_above_balance_names_the_asset_and_shortfall(world: World) -> None:
    """Spending 7 of 5 gold: InsufficientAsset(gold, 2), nothing moved, no event."""
    await world.inventory.grant("alice", GOLD, 5, "quest", "q1")
    with pytest.raises(InsufficientAsset) as info:
        await world.inventory.spend("alice", GOLD, 7, "buy", "s1")
    assert (info.value.player_id, info.value.asset_id, info.value.shortfall) == ("alice", GOLD, 2)
    assert isinstance(info.value, InsufficientFunds)
    assert await world.available(GOLD) == 5
    assert len(await world.events()) == 1
    with pytest.raises(InsufficientAsset) as info:  # an account never seen: all of it is short
        await world.inventory.spend("bob", WOOD, 4, "craft", "s1")
    assert (info.value.asset_id, info.value.shortfall) == (WOOD, 4)


async def test_crafting_without_gold_moves_nothing(world: World) -> None:
    """The recipe with 6 wood and no gold fails on gold (shortfall 1): the wood stays."""
    await world.inventory.grant("alice", WOOD, 6, "chop", "c1")
    before = await world.ledger.count_transfers()
    with pytest.raises(InsufficientAsset) as info:
        await world.inventory.execute("alice", RECIPE, "craft-1")
    assert (info.value.asset_id, info.value.shortfall) == (GOLD, 1)
    assert await world.available(WOOD) == 6
    assert await world.available(SWORD) == 0
    assert await world.ledger.count_transfers() == before
    assert len(await world.events()) == 1
    await world.inventory.grant("alice", GOLD, 1, "quest", "q1")  # now the same key can craft
    crafted = await world.inventory.execute("alice", RECIPE, "craft-1")
    assert not crafted.replayed
    assert {a: b.available for a, b in crafted.balances.items()} == {WOOD: 3, GOLD: 0, SWORD: 1}


async def test_crafting_replayed_posts_once(world: World) -> None:
    """A replayed key returns the first posting, with no second transfer or event, even once
    the materials are gone."""
    await world.inventory.grant("alice", WOOD, 3, "chop", "c1")
    await world.inventory.grant("alice", GOLD, 1, "quest", "q1")
    first = await world.inventory.execute("alice", RECIPE, "craft-1", reason="craft")
    transfers, events = await world.ledger.count_transfers(), len(await world.events())
    again = await world.inventory.execute("alice", RECIPE, "craft-1", reason="craft")
    assert again.replayed
    assert again.events == ()
    assert (again.id, again.created_at) == (first.id, first.created_at)
    assert again.balances == first.balances
    assert await world.ledger.count_transfers() == transfers
    assert len(await world.events()) == events
    assert await world.available(SWORD) == 1
    assert first.id == posting_id("alice", "craft-1")


async def test_a_key_reused_for_another_body_is_a_conflict(world: World) -> None:
    """Other operations or another reason under a used key: OperationConflict, nothing moved;
    keys belong to a player, so bob may use the same one."""
    await world.inventory.grant("alice", GOLD, 5, "quest", "k")
    with pytest.raises(OperationConflict):
        await world.inventory.grant("alice", GOLD, 6, "quest", "k")
    with pytest.raises(IdempotencyConflict):
        await world.inventory.grant("alice", GOLD, 5, "another reason", "k")
    with pytest.raises(OperationConflict):
        await world.inventory.spend("alice", GOLD, 5, "quest", "k")
    assert await world.available(GOLD) == 5
    other = await world.inventory.grant("bob", GOLD, 6, "quest", "k")
    assert not other.replayed
    assert other.id != posting_id("alice", "k")
    assert posting_id("a:b", "c") != posting_id("a", "b:c")


async def test_bad_operations_are_refused_before_anything_moves(world: World) -> None:
    """Unknown assets, on-chain tokens, an asset twice, empty lists, bad amounts and keys."""
    with pytest.raises(AssetNotFound):
        await world.inventory.grant("alice", "item:shield", 1, "loot", "k1")
    with pytest.raises(InvalidInput):
        await world.inventory.grant("alice", USDT.id, 1, "loot", "k2")
    with pytest.raises(InvalidInput):
        await world.inventory.execute(
            "alice", [Operation.grant(WOOD, 1), Operation.spend(WOOD, 1)], "k3"
        )
    with pytest.raises(InvalidInput):
        await world.inventory.execute("alice", [], "k4")
    with pytest.raises(InvalidInput):
        await world.inventory.grant("alice", WOOD, 0, "loot", "k5")
    with pytest.raises(InvalidInput):
        await world.inventory.grant("alice", WOOD, 1.0, "loot", "k6")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await world.inventory.grant("alice", WOOD, 1, "loot", "")
    with pytest.raises(InvalidInput):
        await world.inventory.grant("alice", WOOD, 1, "", "k7")
    with pytest.raises(InvalidInput):
        await world.inventory.grant("alice bob", WOOD, 1, "loot", "k8")
    assert await world.ledger.count_transfers() == 0
    assert await world.events() == []


async def test_concurrent_executes_with_one_key_post_once(world: World) -> None:
    """20 crafts with one key at once: one posting, 19 replays of it, materials spent once."""
    await world.inventory.grant("alice", WOOD, 30, "chop", "c1")
    await world.inventory.grant("alice", GOLD, 10, "quest", "q1")
    gate = asyncio.Event()

    async def craft() -> tuple[bool, str]:
        await gate.wait()
        result = await world.inventory.execute("alice", RECIPE, "craft-once", reason="craft")
        return result.replayed, result.id

    tasks = [asyncio.create_task(craft()) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert sorted(replayed for replayed, _ in results) == [False] + [True] * 19
    assert {posting for _, posting in results} == {posting_id("alice", "craft-once")}
    assert (await world.available(WOOD), await world.available(GOLD)) == (27, 9)
    assert await world.available(SWORD) == 1
    assert len(await world.events()) == 2 + 3
    assert (await world.ledger.verify()).ok


async def test_concurrent_crafts_never_overdraw(world: World) -> None:
    """20 different crafts at once over materials for 5: exactly 5 succeed, the rest are short."""
    await world.inventory.grant("alice", WOOD, 15, "chop", "c1")
    await world.inventory.grant("alice", GOLD, 7, "quest", "q1")
    gate = asyncio.Event()

    async def craft(n: int) -> tuple[str, int] | None:
        await gate.wait()
        try:
            await world.inventory.execute("alice", RECIPE, f"craft-{n}")
        except InsufficientAsset as exc:
            return exc.asset_id, exc.shortfall
        return None

    tasks = [asyncio.create_task(craft(n)) for n in range(20)]
    await asyncio.sleep(0)
    gate.set()
    outcomes = await asyncio.gather(*tasks)
    assert outcomes.count(None) == 5
    assert [o for o in outcomes if o is not None] == [(WOOD, 3)] * 15
    assert (await world.available(WOOD), await world.available(GOLD)) == (0, 2)
    assert await world.available(SWORD) == 5
    assert (await world.ledger.verify()).ok
