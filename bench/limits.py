"""What ``max_per_player`` and bundles cost a buy with a balance, against a same-run baseline.

Three catalog items on one database, bought with gold by distinct players: ``plain`` (one part,
no limit: the baseline), ``limited`` (the same with ``max_per_player``: one slot row taken in the
order's transaction) and ``bundle`` (three parts, no limit: two more grant transfers in the one
batch). Buys run sequentially in alternating blocks (plain, limited, bundle, bundle, limited,
plain, ...), ``--pairs`` rounds of ``--block`` buys per item; each ratio is the median of the
rounds' ratios, so a shared machine's swings hit all sides alike.

    python bench/limits.py [--pairs 8] [--block 50] [--pg-url postgresql://...]

PostgreSQL runs when --pg-url, GAMEPAY_BENCH_POSTGRES_URL or GAMEPAY_TEST_POSTGRES_URL is set
(in a fresh database that is dropped afterwards). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gamepay.core.accounts import AccountKind, issuer_account, player_account
from gamepay.core.assets import Currency
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.ledger import Ledger
from gamepay.payments import BalancePrice, Catalog, CatalogItem, Grant, Payments
from gamepay.store import Store
from gamepay.testing import fresh_postgres_database, sqlite_url

GOLD = Currency("gold", 0)
ITEMS = ("plain", "limited", "bundle")


def _catalog() -> Catalog:
    """The three items, each 1 gold."""
    price = BalancePrice(asset_id=GOLD.id, amount=1)
    sword = Grant(kind="item", code="sword", amount=1)
    return Catalog(
        items=(
            CatalogItem(
                sku="plain",
                title="Plain",
                price="1",
                currency="USD",
                grant=sword,
                balance_price=price,
            ),
            CatalogItem(
                sku="limited",
                title="Limited",
                price="1",
                currency="USD",
                grant=sword,
                balance_price=price,
                max_per_player=1000,
            ),
            CatalogItem(
                sku="bundle",
                title="Bundle",
                price="1",
                currency="USD",
                grants=(
                    sword,
                    Grant(kind="item", code="shield", amount=1),
                    Grant(kind="item", code="potion", amount=3),
                ),
                balance_price=price,
            ),
        )
    )


async def _run(url: str, pairs: int, block: int) -> dict[str, Any]:
    store = await Store.connect(url)
    try:
        await store.migrate()
        ledger = Ledger(store)
        await ledger.register_asset(GOLD)
        issuer = issuer_account(GOLD.id)
        await ledger.open_account(issuer, kind=AccountKind.SYSTEM, allow_negative=True)
        client = KryptoGOClient(  # never called: buys with a balance do not reach KryptoGO
            client_id="bench", api_key="bench", origin="http://bench", base_url="http://127.0.0.1:9"
        )
        payments = Payments(store, ledger, client, _catalog())
        players = [f"p{n}" for n in range(8)]
        for player in players:
            await ledger.open_account(player_account(player))
            spec = TransferSpec(issuer, player_account(player), GOLD.id, 10**9, TransferKind.GRANT)
            await ledger.transfer(f"grant:fund-{player}", spec)
        seq = iter(range(10**9))

        async def blockrate(sku: str) -> float:
            start = time.perf_counter()
            for n in range(block):
                player = players[n % len(players)]
                await payments.buy_with_balance(player, sku, request_id=f"r{next(seq)}")
            return block / (time.perf_counter() - start)

        for sku in ITEMS:  # warm up: register the assets, open the issuers
            await blockrate(sku)
        rates: dict[str, list[float]] = {sku: [] for sku in ITEMS}
        for round_ in range(pairs):
            order = ITEMS if round_ % 2 == 0 else tuple(reversed(ITEMS))
            for sku in order:
                rates[sku].append(await blockrate(sku))
        ratio = {
            sku: statistics.median(a / b for a, b in zip(rates[sku], rates["plain"], strict=True))
            for sku in ("limited", "bundle")
        }
        await client.aclose()
        return {
            "buys_per_s": {sku: round(statistics.median(r), 1) for sku, r in rates.items()},
            "rate_vs_plain": {sku: round(r, 3) for sku, r in ratio.items()},
        }
    finally:
        await store.close()


async def main() -> None:
    """Run on SQLite, then PostgreSQL when configured; print one JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = await _run(sqlite_url(Path(tmp) / "bench.db"), args.pairs, args.block)
        print("sqlite", json.dumps(results["sqlite"]), flush=True)
    pg = (
        args.pg_url
        or os.environ.get("GAMEPAY_BENCH_POSTGRES_URL")
        or os.environ.get("GAMEPAY_TEST_POSTGRES_URL")
    )
    if pg:
        async with fresh_postgres_database(pg) as url:
            results["postgresql"] = await _run(url, args.pairs, args.block)
        print("postgresql", json.dumps(results["postgresql"]), flush=True)
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
