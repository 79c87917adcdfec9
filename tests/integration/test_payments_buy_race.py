"""Buys with a balance racing each other (one gp_post_order call each on PostgreSQL): one charge
per request id, never more buys than the funds cover, events carrying the balances they left."""

from __future__ import annotations

import asyncio

from gamepay.core.accounts import AccountKind, player_account, world_account
from gamepay.core.assets import Token
from gamepay.core.events import EventType
from gamepay.core.transfers import TransferSpec
from gamepay.errors import InsufficientFunds
from gamepay.payments import OrderStatus
from tests.support.payments import USDT, Env, payments_env

ITEM = "item:sword"
PRICE = 5_000_000  # the sword's balance price in tests.support.payments.CATALOG


async def _fund(env: Env, player: str, amount: int) -> None:
    """Give ``player`` ``amount`` of the test USDT from the chain's world account."""
    token = Token("arb", USDT.rsplit(":", 1)[1], "USDT", 6)
    await env.ledger.register_asset(token)
    world = world_account("arb")
    await env.ledger.open_account(world, kind=AccountKind.SYSTEM, allow_negative=True)
    await env.ledger.open_account(player_account(player))
    spec = TransferSpec(world, player_account(player), USDT, amount)
    await env.ledger.transfer(f"fund-{player}", spec)


async def test_one_request_id_bought_fifty_times_at_once_charges_once(db_url: str) -> None:
    """50 concurrent buys with one request id: one order, one charge, the same answer to all."""
    async with payments_env(db_url) as env:
        await _fund(env, "gus", 3 * PRICE)
        orders = await asyncio.gather(
            *(env.payments.buy_with_balance("gus", "sword", request_id="once") for _ in range(50))
        )
        assert len({order.id for order in orders}) == 1
        assert await env.balance("gus", USDT) == 2 * PRICE
        assert await env.balance("gus", ITEM) == 1
        assert len(list(await env.payments.orders_for("gus"))) == 1
        assert (await env.ledger.verify()).ok


async def test_concurrent_buys_never_spend_more_than_the_balance(db_url: str) -> None:
    """20 concurrent buys against the funds of 3: exactly 3 orders, the rest InsufficientFunds."""
    async with payments_env(db_url) as env:
        await _fund(env, "hal", 3 * PRICE)
        results = await asyncio.gather(
            *(env.payments.buy_with_balance("hal", "sword", request_id=f"r{i}") for i in range(20)),
            return_exceptions=True,
        )
        bought = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(bought) == 3
        assert all(isinstance(r, InsufficientFunds) for r in refused)
        assert all(order.status is OrderStatus.COMPLETED for order in bought)
        assert await env.balance("hal", USDT) == 0
        assert await env.balance("hal", ITEM) == 3
        assert len(list(await env.payments.orders_for("hal"))) == 3  # none for a refused buy
        events = await env.payments.events_after("hal", 0)
        assert len(events) == 4 * 3  # status, grant and two balance changes per buy
        assert (await env.ledger.verify()).ok


async def test_buy_events_carry_the_balances_each_buy_left(db_url: str) -> None:
    """Two buys in a row: each order's events, as stored, name the balances after that buy."""
    async with payments_env(db_url) as env:
        await _fund(env, "ida", 2 * PRICE)
        first = await env.payments.buy_with_balance("ida", "sword", request_id="a")
        second = await env.payments.buy_with_balance("ida", "sword", request_id="b")
        events = await env.payments.events_after("ida", 0)
        changed = [
            (e.payload["order_id"], e.payload["asset_id"], e.payload["delta"],
             e.payload["available"], e.payload["held"])
            for e in events
            if e.type is EventType.BALANCE_CHANGED
        ]  # fmt: skip
        assert changed == [
            (first.id, USDT, str(-PRICE), str(PRICE), "0"),
            (first.id, ITEM, "1", "1", "0"),
            (second.id, USDT, str(-PRICE), "0", "0"),
            (second.id, ITEM, "1", "2", "0"),
        ]
        kinds = [e.type for e in events if e.payload["order_id"] == first.id]
        assert kinds == [
            EventType.ORDER_STATUS_CHANGED,
            EventType.ASSET_GRANTED,
            EventType.BALANCE_CHANGED,
            EventType.BALANCE_CHANGED,
        ]
        assert [e.id for e in events] == sorted(e.id for e in events)
