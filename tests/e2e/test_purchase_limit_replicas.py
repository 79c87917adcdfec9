"""max_per_player across two `gamepay serve` processes on one database (PostgreSQL and SQLite):
50 concurrent buys with a balance over websockets, half through each replica, hold the limit."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from pathlib import Path

from gamepay.core.accounts import AccountKind, issuer_account, player_account
from gamepay.core.assets import Currency
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.demo.players import PlayerClient, ReplyError
from gamepay.ledger import Ledger
from gamepay.testing import running_sandbox
from gamepay_ws import issue_token
from tests.support.ledger import migrated_store
from tests.support.serve_process import serve_env, serving

WS_SECRET = "ws-secret-for-the-limit-test-0000"
GOLD = Currency("gold", 0)
LIMIT = 7
BUYS = 50


def _catalog(path: Path) -> Path:
    """A catalog of one relic, 10 gold, at most ``LIMIT`` per player."""
    relic = {
        "sku": "relic",
        "title": "Relic",
        "price": "30",
        "currency": "TWD",
        "grant": {"kind": "item", "code": "relic", "amount": 1},
        "balance_price": {"asset_id": GOLD.id, "amount": 10},
        "max_per_player": LIMIT,
    }
    path.write_text(json.dumps({"items": [relic]}))
    return path


async def _fund(db_url: str, player: str, gold: int) -> None:
    """Migrate the database and give ``player`` ``gold`` (the replicas sell for gold)."""
    async with migrated_store(db_url) as store:
        ledger = Ledger(store)
        await ledger.register_asset(GOLD)
        issuer = issuer_account(GOLD.id)
        await ledger.open_account(issuer, kind=AccountKind.SYSTEM, allow_negative=True)
        await ledger.open_account(player_account(player))
        spec = TransferSpec(issuer, player_account(player), GOLD.id, gold, TransferKind.GRANT)
        await ledger.transfer(f"grant:fund-{player}", spec)


async def _buy(client: PlayerClient, n: int) -> str:
    """One buy with a balance; its outcome's name."""
    try:
        await client.request("buy_with_balance", sku="relic", request_id=f"buy-{n}")
    except ReplyError as exc:
        return exc.code
    return "ok"


async def test_fifty_concurrent_buys_through_two_replicas_hold_the_limit(
    tmp_path: Path, db_url: str
) -> None:
    """Two serve processes, 50 connections of one player (25 on each), one buy on each at
    once: exactly ``LIMIT`` succeed, the rest get purchase_limit_reached, balances agree."""
    await _fund(db_url, "rae", 1000)
    catalog = _catalog(tmp_path / "catalog.json")
    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(running_sandbox())
        env = serve_env(sandbox, WS_SECRET, database_url=db_url, catalog_file=str(catalog))
        url_a = (await stack.enter_async_context(serving(env))).ws_url
        url_b = (await stack.enter_async_context(serving(env))).ws_url
        token = issue_token("rae", WS_SECRET, 300)
        # one connection per buy (a connection answers its requests in turn), half on each
        clients = [
            await stack.enter_async_context(PlayerClient(url_a if n % 2 else url_b, token))
            for n in range(BUYS)
        ]
        outcomes = await asyncio.gather(*(_buy(client, n) for n, client in enumerate(clients)))
        assert outcomes.count("ok") == LIMIT, outcomes
        assert outcomes.count("purchase_limit_reached") == BUYS - LIMIT, outcomes
        on_b = clients[0]
        balances = {b["asset"]: b["available"] for b in (await on_b.request("balance"))["balances"]}
        assert balances == {"item:relic": str(LIMIT), GOLD.id: str(1000 - 10 * LIMIT)}
    async with migrated_store(db_url) as store:
        assert (await Ledger(store).verify()).ok
