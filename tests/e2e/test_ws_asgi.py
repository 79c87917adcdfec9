"""The adapter as an ASGI endpoint mounted in a game's own Starlette app, on one uvicorn port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect

from examples.shop.server import Shop, running_shop
from gamepay_ws import WebsocketAdapter, WebsocketEndpoint, serve_http
from gamepay_ws.server import Socket
from tests.support.mounted import check_mounted_beside_the_game
from tests.support.ws_client import open_client


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    """The demo shop on SQLite, on free ports, stopped after the test."""
    async with running_shop() as running:
        yield running


async def test_mounted_at_ws_beside_the_games_own_routes(shop: Shop) -> None:
    """A game's Starlette app serves its page, its own websocket and gamepay's /ws on one port."""

    async def page(request: Request) -> Response:
        return PlainTextResponse("the game")

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    game = Starlette(
        routes=[
            Route("/", page),
            WebSocketRoute("/game", echo),
            WebSocketRoute("/ws", WebsocketEndpoint(shop.adapter)),
        ]
    )
    async with serve_http(game, ws_max_size=2**20, ws_per_message_deflate=False) as port:
        await check_mounted_beside_the_game(
            shop, f"ws://127.0.0.1:{port}/ws", f"ws://127.0.0.1:{port}/game"
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/")).text == "the game"


async def test_a_client_closing_first_ends_the_session_cleanly(shop: Shop) -> None:
    """A client that hangs up is unregistered; a push for it afterwards reaches nobody."""
    await shop.give_gold("bob")
    async with open_client(shop.ws_url, shop.token("bob")) as client:
        await client.ok("ping")
        assert shop.adapter.connections_of("bob") == 1
    for _ in range(100):
        if shop.adapter.connections_of("bob") == 0:
            break
        await asyncio.sleep(0.02)
    assert shop.adapter.connections_of("bob") == 0
    await shop.payments.buy_with_balance("bob", "potion", request_id="after-hangup")
    async with open_client(shop.ws_url, shop.token("bob"), last_event_id=0) as back:
        await back.wait_push(lambda p: p.get("event") == "asset_granted")


async def test_the_endpoint_alone_refuses_http_and_waits_for_its_adapter(shop: Shop) -> None:
    """Served as the root app: plain HTTP gets 426; before its adapter is set a websocket is
    closed with 1013; a handler hook wraps every connection."""
    seen: list[str] = []

    async def counted(adapter: WebsocketAdapter, socket: Socket) -> None:
        seen.append("open")
        await adapter.handler(socket)

    endpoint = WebsocketEndpoint(handler=counted)
    async with serve_http(endpoint) as port:
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/")
        assert answer.status_code == 426
        assert answer.headers["upgrade"] == "websocket"
        async with connect(f"ws://127.0.0.1:{port}/") as early:
            await early.wait_closed()
            assert early.close_code == 1013
        endpoint.adapter = shop.adapter
        async with open_client(f"ws://127.0.0.1:{port}/", shop.token("carol")) as client:
            assert (await client.ok("ping"))["type"] == "ping_result"
    assert seen == ["open"]
