"""A whole game server in one file: gamepay's economy in a Starlette app, on ONE port.

    GAMEPAY_WS_TOKEN_SECRET=$(openssl rand -hex 32) python examples/game_server.py --port 8000

Configured by the ``GAMEPAY_*`` variables (docs/operations.md). Players fetch a token from
``/login`` and speak protocol v1 (docs/protocol.md) at ``ws://<host>:8000/ws``; KryptoGO posts
its callbacks to ``/kryptogo/callback`` (set ``GAMEPAY_CALLBACK_PUBLIC_URL`` to its public URL).
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gamepay import BalancePrice, Catalog, CatalogItem, Currency, Economy, FiatCurrency, Grant

GOLD = Currency("gold", 0)
CATALOG = Catalog(
    items=(
        CatalogItem(
            sku="sword",
            title="Iron sword",
            price="300",
            currency=FiatCurrency.TWD,
            grant=Grant(kind="item", code="sword", amount=1),
            balance_price=BalancePrice(asset_id=GOLD.id, amount=500),
        ),
    )
)
economy = Economy.from_settings(catalog=CATALOG, assets=[GOLD])


async def login(request: Request) -> JSONResponse:
    """DEMO ONLY, anyone is anyone: your game checks its own login before handing out a token."""
    player = request.query_params["player"]
    await economy.grant(player, GOLD, 1000, grant_id=f"welcome:{player}")  # starting gold
    return JSONResponse({"token": economy.issue_token(player), "websocket": "/ws"})


app = Starlette(routes=[Route("/login", login), *economy.routes], lifespan=economy.lifespan)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="a game server with a gamepay economy")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, ws_per_message_deflate=False)
