"""Player-to-player trades on both backends: holds on offer, one atomic accept, decline, cancel,
expiry (swept or met by a late accept), the typed refusals, and 100 concurrent accepts of one
trade from two replicas (two stores on their own engines) settling it exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from gamepay.bus.outbox import events_after
from gamepay.core.assets import Currency, Item, Token
from gamepay.core.events import Event, EventType
from gamepay.core.holds import HoldStatus
from gamepay.core.trades import TradeStatus, hold_id
from gamepay.errors import AmountRangeError, AssetNotFound, InvalidInput
from gamepay.inventory import Inventory, Trades
from gamepay.inventory.errors import (
    InsufficientAsset,
    NotTradable,
    SelfTrade,
    TradeClosed,
    TradeConflict,
    TradeExpired,
    TradeForbidden,
    TradeNotFound,
)
from gamepay.ledger import Ledger
from gamepay.store import Store
from tests.support.inventory import pushing_ledger

SWORD, GEMS, GOLD = "item:sword", "currency:gems", "currency:gold"
USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)
DAY = timedelta(days=1)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        """The current test time."""
        return self.now


@dataclass
class World:
    """A migrated store, its ledger, the inventory (to grant), the trades and what was pushed."""

    store: Store
    ledger: Ledger
    inventory: Inventory
    trades: Trades
    clock: Clock
    pushed: list[Event]

    async def has(self, player: str, asset: str) -> tuple[int, int]:
        """A player's (available, held) balance of ``asset``."""
        found = await self.ledger.balance(f"player:{player}", asset)
        return found.available, found.held

    async def give(self, player: str, asset: str, amount: int) -> None:
        """Grant ``amount`` of ``asset`` to ``player``."""
        await self.inventory.grant(player, asset, amount, "setup", f"setup-{asset}-{amount}")

    async def events(self, player: str) -> list[Event]:
        """Every outbox event of ``player``, oldest first."""
        return await self.store.read(lambda conn: events_after(conn, player, 0, 1000))


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    """Alice holds 2 swords and 10 gold, bob 50 gems, on the current backend."""
    assets = (Item("sword"), Currency("gems"), Currency("gold"), USDT)
    async with pushing_ledger(db_url, assets, pool_size=20) as setup:
        clock = Clock()
        ledger = setup.ledger
        trades = Trades(ledger, publisher=setup.bus, clock=clock)
        world = World(setup.store, ledger, Inventory(ledger), trades, clock, setup.pushed)
        await world.give("alice", SWORD, 2)
        await world.give("alice", GOLD, 10)
        await world.give("bob", GEMS, 50)
        yield world


async def sword_for_gems(world: World, key: str = "o1", gems: int = 50) -> str:
    """Alice offers bob 1 sword for ``gems`` gems; the trade id."""
    result = await world.trades.offer("alice", "bob", [(SWORD, 1)], [(GEMS, gems)], DAY, key)
    return result.trade.id


async def test_offer_holds_and_accept_moves_both_sides_at_once(world: World) -> None:
    """The offer holds alice's sword; bob's accept gives it to him and his gems to her."""
    trade_id = await sword_for_gems(world)
    assert await world.has("alice", SWORD) == (1, 1)
    accepted = await world.trades.accept(trade_id, "bob", "a1")
    assert accepted.trade.status is TradeStatus.ACCEPTED
    assert not accepted.replayed
    assert await world.has("alice", SWORD) == (1, 0)
    assert await world.has("bob", SWORD) == (1, 0)
    assert await world.has("alice", GEMS) == (50, 0)
    assert await world.has("bob", GEMS) == (0, 0)
    assert (await world.ledger.get_hold(hold_id(trade_id, 0))).status is HoldStatus.POSTED
    assert (await world.ledger.verify()).ok


async def test_both_players_get_a_trade_changed_event_per_step(world: World) -> None:
    """Offer and accept each write and push one trade_changed per player, amounts as decimals."""
    trade_id = await sword_for_gems(world)
    await world.trades.accept(trade_id, "bob")
    for player, role in (("alice", "proposer"), ("bob", "recipient")):
        found = [e for e in await world.events(player) if e.type is EventType.TRADE_CHANGED]
        assert [e.payload["status"] for e in found] == ["open", "accepted"]
        assert {e.payload["role"] for e in found} == {role}
        assert found[1].payload["want"] == [
            {
                "asset": GEMS,
                "code": "gems",
                "decimals": 0,
                "amount": "50",
                "amount_base_units": "50",
            }
        ]
    pushed = [(e.player_id, e.payload["status"]) for e in world.pushed]
    assert sorted(pushed) == sorted(
        [("alice", "open"), ("bob", "open"), ("alice", "accepted"), ("bob", "accepted")]
    )


async def test_recipient_short_is_refused_with_asset_and_shortfall_and_trade_stays_open(
    world: World,
) -> None:
    """Bob short of 20 gems: InsufficientAsset names gems and 20, nothing moves, still open."""
    trade_id = await sword_for_gems(world, gems=70)
    with pytest.raises(InsufficientAsset) as info:
        await world.trades.accept(trade_id, "bob", "a1")
    assert (info.value.player_id, info.value.asset_id, info.value.shortfall) == ("bob", GEMS, 20)
    assert (await world.trades.get(trade_id, "bob")).status is TradeStatus.OPEN
    assert await world.has("alice", SWORD) == (1, 1)
    assert await world.has("bob", GEMS) == (50, 0)
    await world.give("bob", GEMS, 20)
    assert (await world.trades.accept(trade_id, "bob", "a1")).trade.status == "accepted"
    assert await world.has("alice", GEMS) == (70, 0)


async def test_proposer_short_on_offer_holds_nothing(world: World) -> None:
    """Alice offering 3 swords while holding 2: InsufficientAsset, no trade, nothing held."""
    with pytest.raises(InsufficientAsset) as info:
        await world.trades.offer("alice", "bob", [(GOLD, 5), (SWORD, 3)], [(GEMS, 1)], DAY, "k")
    assert (info.value.asset_id, info.value.shortfall) == (SWORD, 1)
    assert await world.has("alice", GOLD) == (10, 0)
    assert await world.trades.list_trades("alice") == []


async def test_decline_and_cancel_release_the_holds(world: World) -> None:
    """Bob declines one offer, alice cancels another: both swords are hers again, unheld."""
    first = await sword_for_gems(world, "o1")
    second = await sword_for_gems(world, "o2")
    assert await world.has("alice", SWORD) == (0, 2)
    assert (await world.trades.decline(first, "bob")).trade.status is TradeStatus.DECLINED
    assert (await world.trades.cancel(second, "alice")).trade.status is TradeStatus.CANCELLED
    assert await world.has("alice", SWORD) == (2, 0)
    for trade_id in (first, second):
        assert (await world.ledger.get_hold(hold_id(trade_id, 0))).status is HoldStatus.VOIDED
    assert (await world.ledger.verify()).ok


async def test_only_the_right_player_may_act(world: World) -> None:
    """Alice cannot accept her own offer, bob cannot cancel it, carol can do nothing to it."""
    trade_id = await sword_for_gems(world)
    for call, player in (
        (world.trades.accept, "alice"),
        (world.trades.decline, "alice"),
        (world.trades.cancel, "bob"),
        (world.trades.accept, "carol"),
        (world.trades.cancel, "carol"),
    ):
        with pytest.raises(TradeForbidden):
            await call(trade_id, player)
    with pytest.raises(TradeForbidden):
        await world.trades.get(trade_id, "carol")
    with pytest.raises(TradeNotFound):
        await world.trades.accept("trd_nope", "bob")
    assert await world.has("alice", SWORD) == (1, 1)


async def test_acting_twice_is_refused_but_a_resend_is_answered(world: World) -> None:
    """A second accept (or a decline) after the accept is TradeClosed; the same key replays."""
    trade_id = await sword_for_gems(world)
    first = await world.trades.accept(trade_id, "bob", "a1")
    again = await world.trades.accept(trade_id, "bob", "a1")
    assert again.replayed
    assert again.events == ()
    assert again.trade.id == first.trade.id
    with pytest.raises(TradeClosed) as info:
        await world.trades.accept(trade_id, "bob", "a2")
    assert info.value.status == "accepted"
    with pytest.raises(TradeClosed):
        await world.trades.decline(trade_id, "bob", "a1")
    with pytest.raises(TradeClosed):
        await world.trades.cancel(trade_id, "alice")
    assert await world.has("alice", GEMS) == (50, 0)


async def test_accept_after_expiry_is_refused_before_any_sweep(world: World) -> None:
    """Past expires_at, bob's accept expires the trade (holds back) and raises TradeExpired."""
    trade_id = await sword_for_gems(world)
    world.clock.now += DAY
    with pytest.raises(TradeExpired):
        await world.trades.accept(trade_id, "bob", "a1")
    assert (await world.trades.get(trade_id, "alice")).status is TradeStatus.EXPIRED
    assert await world.has("alice", SWORD) == (2, 0)
    assert await world.has("bob", SWORD) == (0, 0)
    with pytest.raises(TradeClosed):
        await world.trades.accept(trade_id, "bob", "a1")


async def test_sweep_expires_due_trades_once(world: World) -> None:
    """The sweep expires only due offers, releases their holds, and finds nothing a second time."""
    due = await sword_for_gems(world, "o1")
    later = await world.trades.offer("alice", "bob", [(GOLD, 4)], [(GEMS, 1)], 3 * DAY, "o2")
    world.clock.now += 2 * DAY
    assert await world.trades.expire_due() == 1
    assert await world.trades.expire_due() == 0
    assert (await world.trades.get(due, "bob")).status is TradeStatus.EXPIRED
    assert (await world.ledger.get_hold(hold_id(due, 0))).status is HoldStatus.VOIDED
    assert await world.has("alice", SWORD) == (2, 0)
    assert await world.has("alice", GOLD) == (6, 4)
    assert [t.id for t in await world.trades.list_trades("bob")] == [later.trade.id]
    assert len(await world.trades.list_trades("bob", open_only=False)) == 2


async def test_offer_resend_and_key_conflict(world: World) -> None:
    """The same key and offer returns the first trade (one hold); another offer: TradeConflict."""
    first = await world.trades.offer("alice", "bob", [(SWORD, 1)], [(GEMS, 5)], DAY, "k")
    again = await world.trades.offer("alice", "bob", [(SWORD, 1)], [(GEMS, 5)], 60, "k")
    assert again.replayed
    assert again.trade.id == first.trade.id
    assert await world.has("alice", SWORD) == (1, 1)
    with pytest.raises(TradeConflict):
        await world.trades.offer("alice", "bob", [(SWORD, 1)], [(GEMS, 6)], DAY, "k")
    with pytest.raises(TradeConflict):
        await world.trades.offer("alice", "carol", [(SWORD, 1)], [(GEMS, 5)], DAY, "k")


@pytest.mark.parametrize(
    ("to", "give", "want", "expires", "error"),
    [
        ("alice", [(SWORD, 1)], [(GEMS, 1)], DAY, SelfTrade),
        ("bob", [(SWORD, 0)], [(GEMS, 1)], DAY, AmountRangeError),
        ("bob", [(SWORD, 1)], [(GEMS, -5)], DAY, AmountRangeError),
        ("bob", [(SWORD, 1.0)], [(GEMS, 1)], DAY, InvalidInput),
        ("bob", [("item:shield", 1)], [(GEMS, 1)], DAY, AssetNotFound),
        ("bob", [(SWORD, 1)], [(USDT.id, 1)], DAY, NotTradable),
        ("bob", [(SWORD, 1)], [(SWORD, 1)], DAY, InvalidInput),
        ("bob", [(SWORD, 1), (SWORD, 1)], [(GEMS, 1)], DAY, InvalidInput),
        ("bob", [], [(GEMS, 1)], DAY, InvalidInput),
        ("bob", [(SWORD, 1)], [(GEMS, 1)], 0, InvalidInput),
        ("bob", [(SWORD, 1)], [(GEMS, 1)], timedelta(days=31), InvalidInput),
    ],
)
async def test_bad_offers_are_typed_and_hold_nothing(
    world: World, to: str, give: list, want: list, expires: object, error: type[Exception]
) -> None:
    """Self trades, bad amounts, unknown or token assets, overlaps, bad expiry: typed, no hold."""
    with pytest.raises(error):
        await world.trades.offer("alice", to, give, want, expires, "bad")  # type: ignore[arg-type]
    assert await world.has("alice", SWORD) == (2, 0)


async def test_100_concurrent_accepts_from_two_replicas_settle_once(
    db_url: str, world: World
) -> None:
    """100 accepts of one trade, half through a second store on its own engine: one settles."""
    trade_id = await sword_for_gems(world)
    other = await Store.connect(db_url, pool_size=20, max_overflow=0, max_retries=50)
    try:
        replica = Trades(Ledger(other), clock=world.clock)
        services = [world.trades, replica]
        outcomes = await asyncio.gather(
            *(services[i % 2].accept(trade_id, "bob", f"a{i}") for i in range(100)),
            return_exceptions=True,
        )
    finally:
        await other.close()
    settled = [o for o in outcomes if not isinstance(o, BaseException) and not o.replayed]
    refused = [o for o in outcomes if isinstance(o, TradeClosed)]
    assert len(settled) == 1
    assert len(refused) == 99, [o for o in outcomes if o not in settled]
    assert await world.has("alice", GEMS) == (50, 0)
    assert await world.has("bob", SWORD) == (1, 0)
    accepted = [e for e in await world.events("bob") if e.payload.get("status") == "accepted"]
    assert len(accepted) == 1
    assert (await world.ledger.verify()).ok
