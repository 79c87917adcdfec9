"""What every "the adapter mounted in the game's own server" test checks, written once."""

from __future__ import annotations

import json

from websockets.asyncio.client import connect

from examples.shop.server import Shop
from tests.support.ws_client import open_client

__all__ = ["check_mounted_beside_the_game"]


async def check_mounted_beside_the_game(shop: Shop, gamepay_url: str, game_url: str) -> None:
    """Through the adapter at ``gamepay_url`` alice buys a potion and its grant is pushed; a
    frame above the adapter's 64 KiB is closed with 1009 though the game's server allows 1 MiB;
    the game's own echo websocket at ``game_url`` still answers."""
    await shop.give_gold("alice")
    async with open_client(gamepay_url, shop.token("alice")) as client:
        bought = await client.ok("buy_with_balance", sku="potion")
        assert bought["status"] == "completed"
        await client.wait_push(lambda p: p.get("event") == "asset_granted")
        await client.send_raw(json.dumps({"type": "ping", "id": 1, "pad": "x" * 70_000}))
        replies, close = await client.until_closed()
        assert (replies, close.code, close.reason) == ([], 1009, "message too big")
    async with connect(game_url) as own:
        await own.send("hello")
        assert await own.recv() == "hello"
