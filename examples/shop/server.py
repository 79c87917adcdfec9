"""A small game server with a shop: a ``gamepay.Economy`` on the KryptoGO sandbox, served to
players over the websocket adapter, with a browser storefront page.

Run it and open the printed URL::

    python -m examples.shop                # or: python examples/shop/server.py [--port 8000]

One process runs: the KryptoGO sandbox (an emulator on a free port), the gamepay services on a
SQLite file, and ONE HTTP app serving the websocket adapter at ``/ws``, the storefront page, the
KryptoGO callback endpoint, and two DEMO-ONLY endpoints:
``GET /demo/session?player=<id>`` hands out a player token for whatever player the visitor
names (a real game issues tokens after its own login), and ``POST /demo/pay`` tells the sandbox
to pay an intent (a real player pays from a wallet). ``--ws-port`` also runs the adapter on a
standalone ``websockets`` server (then the page uses that one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "adapters"))

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gamepay import Economy
from gamepay.bus import EventBus
from gamepay.core.assets import Currency, Token
from gamepay.eventloop import run as run_loop
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.payments import Payments, PaymentsConfig
from gamepay.payments.catalog import (
    BalancePrice,
    Catalog,
    CatalogItem,
    Grant,
    SubscriptionTerms,
)
from gamepay.store import Store
from gamepay.testing import RunningSandbox, running_sandbox
from gamepay.withdrawals import Withdrawals, WithdrawalsConfig
from gamepay_ws import AdapterConfig, WebsocketAdapter, serve_http
from gamepay_ws.storefront import storefront_routes

__all__ = ["CATALOG", "GOLD", "Shop", "main", "running_shop"]

GOLD = Currency("gold", 0)
"""The shop's in-game currency; every demo player starts with some."""

STARTING_GOLD = 1000

CATALOG = Catalog(
    items=(
        CatalogItem(
            sku="sword",
            title="Iron sword",
            price="300",
            currency="TWD",
            grant=Grant(kind="item", code="sword", amount=1),
            balance_price=BalancePrice(asset_id=GOLD.id, amount=500),
        ),
        CatalogItem(
            sku="shield",
            title="Oak shield",
            price="150",
            currency="TWD",
            grant=Grant(kind="item", code="shield", amount=1),
            balance_price=BalancePrice(asset_id=GOLD.id, amount=250),
        ),
        CatalogItem(
            sku="potion",
            title="Health potion",
            price="1.5",
            currency="USD",
            grant=Grant(kind="item", code="potion", amount=3),
            balance_price=BalancePrice(asset_id=GOLD.id, amount=60),
        ),
        CatalogItem(
            sku="starter-pack",
            title="Starter pack",
            price="400",
            currency="TWD",
            grants=(  # a bundle: all three in one order
                Grant(kind="item", code="sword", amount=1),
                Grant(kind="item", code="shield", amount=1),
                Grant(kind="item", code="potion", amount=3),
            ),
            balance_price=BalancePrice(asset_id=GOLD.id, amount=700),
        ),
        CatalogItem(
            sku="gold-pack",
            title="1,000 gold",
            price="90",
            currency="TWD",
            grant=Grant(kind="currency", code="gold", amount=1000),
        ),
        CatalogItem(
            sku="vip-month",
            title="VIP month",
            price="150",
            currency="TWD",
            grant=Grant(kind="item", code="vip", amount=1),
            subscription=SubscriptionTerms(  # 30 days, kept 3 more for a late renewal
                period_s=30 * 86400, grace_s=3 * 86400, offer_before_s=3 * 86400
            ),
        ),
    )
)


@dataclass
class Shop:
    """A running shop: where it listens and its parts (for tests and the benchmark)."""

    http_url: str
    ws_url: str
    secret: str
    sandbox: RunningSandbox
    economy: Economy
    withdrawable: list[dict[str, str]] = field(default_factory=list)

    @property
    def store(self) -> Store:
        """The shop's database."""
        return self.economy.store

    @property
    def payments(self) -> Payments:
        """The shop's payments service."""
        return self.economy.payments

    @property
    def withdrawals(self) -> Withdrawals:
        """The shop's withdrawals service."""
        return self.economy.withdrawals

    @property
    def adapter(self) -> WebsocketAdapter:
        """The websocket adapter players talk to."""
        return self.economy.adapter

    def token(self, player_id: str, ttl: int = 600) -> str:
        """A player token, as the game backend would issue after its own login."""
        return self.economy.issue_token(player_id, ttl)

    async def give_gold(self, player_id: str, amount: int = STARTING_GOLD) -> None:
        """Credit a demo player's starting gold once (idempotent per player)."""
        await self.economy.grant(
            player_id, GOLD, amount, grant_id=f"demo-gold:{player_id}", memo="demo starting gold"
        )


def _payment_token(sandbox: RunningSandbox) -> Token:
    """The token the sandbox's intents are paid in (what top-ups credit and withdrawals send)."""
    config = sandbox.sandbox.config
    chain_id, _, key = config.payment_token.partition(":")
    for chain in config.chains:
        if chain.chain_id == chain_id:
            token = chain.token(key)
            if token is not None:
                return Token(chain_id, token.address, token.symbol, token.decimals)
    raise RuntimeError("the sandbox has no payment token")


def _http_app(holder: dict[str, Shop]) -> Starlette:
    """The storefront and the DEMO-ONLY endpoints (the economy's routes join once it runs)."""

    async def session(request: Request) -> Response:
        shop = holder["shop"]
        player = request.query_params.get("player") or f"player-{secrets.token_hex(3)}"
        try:
            token = shop.token(player)
        except Exception:
            return JSONResponse({"error": "bad player id"}, status_code=400)
        await shop.give_gold(player)
        return JSONResponse(
            {
                "player_id": player,
                "token": token,
                "ws_url": shop.ws_url,
                "withdrawable": shop.withdrawable,
            }
        )

    async def pay(request: Request) -> Response:
        shop = holder["shop"]
        try:
            body = json.loads(await request.body())
            intent_id = body["payment_intent_id"]
            mode = body.get("mode", "exact")
            assert isinstance(intent_id, str)
            assert mode in ("exact", "short", "excess")
        except (ValueError, KeyError, TypeError, AssertionError):
            return JSONResponse({"error": "need payment_intent_id"}, status_code=400)
        try:
            intent = shop.sandbox.sandbox.pay(intent_id, mode)
        except Exception as exc:
            return JSONResponse({"error": str(exc)[:200]}, status_code=400)
        return JSONResponse({"status": str(intent.status)})

    return Starlette(
        routes=[
            *storefront_routes("/"),
            Route("/demo/session", session, methods=["GET"]),
            Route("/demo/pay", pay, methods=["POST"]),
        ]
    )


def _pool(db_url: str) -> dict[str, int]:
    """SQLite has one writer at a time: one pooled connection queues writers in the event loop
    instead of in SQLite's sleeping busy handler (which makes long latency tails)."""
    return {"pool_size": 1, "max_overflow": 0} if db_url.startswith("sqlite") else {}


@asynccontextmanager
async def running_shop(
    db_url: str | None = None,
    *,
    host: str = "127.0.0.1",
    http_port: int = 0,
    ws_port: int | None = None,
    adapter_config: AdapterConfig | None = None,
    sandbox: RunningSandbox | None = None,
    secret: str | None = None,
    bus: EventBus | None = None,
) -> AsyncIterator[Shop]:
    """Run the whole shop in this event loop; yield it; stop everything on exit.

    Players connect to ``/ws`` on the HTTP port; with ``ws_port`` (0: any free port) the adapter
    also runs on a standalone ``websockets`` server, and ``Shop.ws_url`` is that one.

    Several replicas share one database, one sandbox (``sandbox=``) and one token ``secret``.
    The bus defaults to a ``PostgresBus`` on PostgreSQL (events reach players connected to any
    replica) and an ``InProcessBus`` on SQLite (pass one ``bus`` to replicas in one process).
    """
    async with AsyncExitStack() as stack:
        if db_url is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="gamepay-shop-"))
            db_url = f"sqlite:///{Path(tmp) / 'shop.db'}"
        if sandbox is None:
            sandbox = await stack.enter_async_context(running_sandbox())
        store = await Store.connect(db_url, **_pool(db_url))
        stack.push_async_callback(store.close)
        await store.migrate()
        client = KryptoGOClient(
            client_id=sandbox.client_id,
            api_key=sandbox.api_key,
            origin=sandbox.origin,
            base_url=sandbox.url,
        )
        stack.push_async_callback(client.aclose)
        holder: dict[str, Shop] = {}
        app = _http_app(holder)
        port = await stack.enter_async_context(
            serve_http(
                app,
                host,
                http_port,
                ws_max_size=(adapter_config or AdapterConfig()).max_message_bytes,
                ws_per_message_deflate=False,
            )
        )
        http_url = f"http://{host}:{port}"
        token = _payment_token(sandbox)
        secret = secret or secrets.token_hex(32)
        economy = Economy.from_parts(
            store=store,
            client=client,
            catalog=CATALOG,
            assets=[GOLD],
            token_secret=secret,
            bus=bus,  # None: the economy picks (and owns) one
            payments_config=PaymentsConfig(callback_url=f"{http_url}/kryptogo/callback"),
            withdrawals=WithdrawalsConfig(tokens={token.id: token}),
            adapter_config=adapter_config,
        )
        await stack.enter_async_context(economy)
        app.router.routes.extend(economy.routes)  # /ws, the callback endpoint, /healthz
        ws_url = f"ws://{host}:{port}/ws"
        if ws_port is not None:
            server = await stack.enter_async_context(economy.serve_websocket(host, ws_port))
            ws_url = f"ws://{host}:{server.sockets[0].getsockname()[1]}"
        shop = Shop(
            http_url=http_url,
            ws_url=ws_url,
            secret=secret,
            sandbox=sandbox,
            economy=economy,
            withdrawable=[{"asset": token.id, "symbol": token.symbol, "chain": token.chain_id}],
        )
        holder["shop"] = shop
        yield shop


async def _serve(port: int, ws_port: int | None, db: str | None) -> None:
    secret = os.environ.get("GAMEPAY_WS_TOKEN_SECRET") or None  # tests mint their own tokens
    async with running_shop(db, http_port=port, ws_port=ws_port, secret=secret) as shop:
        print(f"gamepay demo shop: open {shop.http_url}/  (websocket {shop.ws_url})")
        print("DEMO ONLY: /demo/session hands out player tokens to anyone. Ctrl-C to stop.")
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run the shop until interrupted."""
    parser = argparse.ArgumentParser(description="gamepay demo shop")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (page, callbacks)")
    parser.add_argument(
        "--ws-port", type=int, default=None, help="also a standalone websocket server (port)"
    )
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite)")
    args = parser.parse_args(argv)
    with suppress(KeyboardInterrupt):
        run_loop(_serve(args.port, args.ws_port, args.db))


if __name__ == "__main__":
    main()
