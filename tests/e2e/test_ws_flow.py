"""Flow control end to end: a client that keeps reading is never dropped, whatever a request holds.

The scenario of issue 13: one connection withdraws while the sandbox takes 8 s to answer; the
same player's other 10 connections buy 150 items meanwhile (600 pushes). Every connection stays
open, a request pipelined behind the slow one is answered, and every connection gets every event
exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from examples.shop.server import Shop, running_shop
from gamepay.sandbox.faults import Faults
from gamepay_ws import AdapterConfig
from tests.support.ws_client import open_client


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    """The demo shop on SQLite with the default outbox (512 frames) and a generous rate."""
    config = AdapterConfig(rate_burst=500, rate_per_second=500)
    async with running_shop(adapter_config=config) as running:
        yield running


class Reader:
    """A connection read continuously: replies matched by id, pushes kept in arrival order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pushes: list[dict[str, Any]] = []
        self.replies: dict[object, asyncio.Future[dict[str, Any]]] = {}
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._read())
        self._next = 0

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame["type"] == "event":
                    self.pushes.append(frame)
                elif frame.get("id") in self.replies:
                    self.replies[frame["id"]].set_result(frame)
        finally:
            code = None if self.ws.close_code is None else int(self.ws.close_code)
            if not self.closed.done():
                self.closed.set_result(code)

    def send(self, type_: str, **fields: Any) -> asyncio.Future[dict[str, Any]]:
        """Send a request now; the future holds its reply."""
        self._next += 1
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[self._next] = waiter
        frame = {"type": type_, "id": self._next, **fields}
        asyncio.get_running_loop().create_task(self.ws.send(json.dumps(frame)))
        return waiter

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        """A request that must succeed within 30 s."""
        reply = await asyncio.wait_for(self.send(type_, **fields), 30)
        assert reply["type"] == f"{type_}_result", reply
        return reply

    def event_ids(self) -> list[int]:
        """The event ids pushed so far, in arrival order."""
        return [p["event_id"] for p in self.pushes]


async def _readers(shop: Shop, count: int) -> list[Reader]:
    readers = []
    for _ in range(count):
        ws = await connect(shop.ws_url, compression=None, max_size=2**22)
        reader = Reader(ws)
        await reader.ok("authenticate", token=shop.token("alice"))
        readers.append(reader)
    return readers


async def test_a_slow_request_never_drops_readers_that_keep_up(shop: Shop) -> None:
    """One 8 s withdraw, 150 buys on 10 other connections: all stay open, all events arrive once."""
    await shop.give_gold("alice", 150 * 60)
    async with open_client(shop.ws_url, shop.token("alice")) as setup:
        instructions = await setup.ok("top_up", amount="325", currency="TWD")
        shop.sandbox.sandbox.pay(instructions["payment_intent_id"], "exact")
        await setup.wait_push(lambda p: p.get("event") == "balance_changed")
    shop.sandbox.sandbox.fund("arb", "USDT", "1000")
    before = await shop.payments.events_after("alice", 0, 1000)
    floor = before[-1].id
    shop.sandbox.sandbox.set_faults(Faults(latency=8.0))  # every API call now takes 8 s

    slow, *buyers = await _readers(shop, 11)
    try:
        withdraw = slow.send(
            "withdraw",
            asset=shop.withdrawable[0]["asset"],
            amount="1",
            address="0x" + "ab" * 20,
            request_id=str(uuid.uuid4()),
        )
        behind = slow.send("ping")  # pipelined behind the slow request

        async def buy_15(reader: Reader) -> None:
            for _ in range(15):
                await reader.ok("buy_with_balance", sku="potion", request_id=str(uuid.uuid4()))

        await asyncio.wait_for(asyncio.gather(*(buy_15(r) for r in buyers)), 60)
        assert not withdraw.done(), "the buys must happen while the withdraw is running"
        sent = await asyncio.wait_for(withdraw, 30)
        assert sent["type"] == "withdraw_result", sent
        assert (await asyncio.wait_for(behind, 30))["type"] == "ping_result"

        stored = [e.id for e in await shop.payments.events_after("alice", floor, 1000)]
        assert len(stored) >= 600 + 2
        for reader in (slow, *buyers):
            async with asyncio.timeout(30):
                while sorted(i for i in reader.event_ids() if i > floor) != stored:
                    assert not reader.closed.done(), f"closed with {reader.closed.result()}"
                    await asyncio.sleep(0.05)
            ids = [i for i in reader.event_ids() if i > floor]
            assert len(ids) == len(set(ids)), "an event was pushed twice"
            await reader.ok("ping")  # still open
    finally:
        for reader in (slow, *buyers):
            await reader.ws.close()
            with contextlib.suppress(asyncio.CancelledError):
                await reader.task
