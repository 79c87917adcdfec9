"""Benchmark: distribute one reward period to N generated players on SQLite and PostgreSQL.

    .venv/bin/python bench/rewards.py            # full: 100,000 players (and 20,000 for RSS)
    .venv/bin/python bench/rewards.py --quick    # 3,000 and 1,000 players, under a minute

For each backend and size, a child process generates the history (players opened in bulk with
Core ``executemany`` into ``gp_accounts`` -- the bench's documented bulk helper -- and every
transfer through ``Ledger.batch``), and a second child process runs the period with
``RewardRunner.run_due`` and reports its own peak RSS, so the figure is the distribution's alone
(``cpu_seconds`` is the process CPU time of the run, both threads: the machine is shared, so wall
time can be a multiple of it).
Baseline (same child, same driver): the bare ``GROUP BY`` aggregation over ``gp_transfers`` that
the run starts from, streamed and discarded. The last line is one JSON object.
PostgreSQL runs when ``GAMEPAY_BENCH_POSTGRES_URL`` (or ``GAMEPAY_TEST_POSTGRES_URL``) answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from gamepay.core.accounts import AccountKind
from gamepay.core.assets import Currency
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.ledger import Ledger
from gamepay.rewards import Program, RewardRunner
from gamepay.rewards.compute import activity_query
from gamepay.store import Store
from gamepay.store.schema.ledger import accounts_table
from gamepay.testing import fresh_postgres_database, sqlite_url

__all__: list[str] = []

GOLD = Currency("gold")
PROGRAM = Program(
    name="bench",
    asset=GOLD.id,
    schedule="monthly",
    timezone="Europe/Berlin",
    start=date(2026, 11, 1),
    cashback_bps=150,
    tiers=[{"min_net": 5_000, "bonus": 50}, {"min_net": 20_000, "rate_bps": 100}],
    active_bonus=10,
    cap=1_000,
)
PERIOD = PROGRAM.period(date(2026, 11, 1))
NOW = PERIOD.end + timedelta(days=1)
PLAYERS_PER_BATCH = 5_000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def generate(url: str, players: int) -> None:
    """History: each player is granted gold, buys 1-3 times in the period; every 7th deposits."""
    store = await Store.connect(url)
    await store.migrate()
    clock_at = [PERIOD.start + timedelta(hours=1)]
    ledger = Ledger(store, clock=lambda: clock_at[0])
    await ledger.register_asset(GOLD)
    for account in ("revenue", f"issuer:{GOLD.id}", "world:arb"):
        await ledger.open_account(account, kind=AccountKind.SYSTEM, allow_negative=True)
    await ledger.open_account(PROGRAM.pool_account, kind=AccountKind.SYSTEM)
    await ledger.transfer(
        "bench:fund-pool",
        TransferSpec(f"issuer:{GOLD.id}", PROGRAM.pool_account, GOLD.id, 10**15, "grant"),
    )
    created = datetime.now(UTC)
    for first in range(0, players, PLAYERS_PER_BATCH):
        ids = [f"p{i:07d}" for i in range(first, min(players, first + PLAYERS_PER_BATCH))]
        async with store.transaction() as conn:  # the bulk helper: accounts by executemany
            await conn.execute(
                accounts_table.insert(),
                [
                    {
                        "id": f"player:{pid}",
                        "kind": str(AccountKind.PLAYER),
                        "allow_negative": False,
                        "created_at": created,
                    }
                    for pid in ids
                ],
            )
        specs = []
        for n, pid in enumerate(ids, start=first):
            account = f"player:{pid}"
            specs.append(TransferSpec(f"issuer:{GOLD.id}", account, GOLD.id, 10**6, "grant"))
            for k in range(1 + n % 3):
                amount = 100 + (n * 7919 + k * 104729) % 20_000
                specs.append(TransferSpec(account, "revenue", GOLD.id, amount, "purchase"))
            if n % 7 == 0:
                specs.append(TransferSpec("world:arb", account, GOLD.id, 500, "deposit"))
            if n % 11 == 0:
                specs.append(TransferSpec("revenue", account, GOLD.id, 50, TransferKind.REFUND))
        clock_at[0] = PERIOD.start + timedelta(hours=1 + first // PLAYERS_PER_BATCH)
        await ledger.batch(f"bench:gen:{first}", specs)
    await store.close()


async def distribute(url: str) -> dict[str, float | int]:
    """Run the period once (after a baseline aggregation); seconds, payouts and peak RSS."""
    store = await Store.connect(url)
    await store.migrate()
    t0 = time.perf_counter()
    seen = 0
    async with store.engine.connect() as conn:
        result = await conn.stream(activity_query(PROGRAM, PERIOD))
        async for part in result.partitions(2000):
            seen += len(part)
    baseline = time.perf_counter() - t0
    ledger = Ledger(store, clock=lambda: NOW)
    runner = RewardRunner(store, ledger, PROGRAM, clock=lambda: NOW, chunk_size=2000)
    t0, cpu0 = time.perf_counter(), time.process_time()
    [report] = await runner.run_due(NOW)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    peak = _peak_rss_mb()  # before verify(), which is not part of the distribution
    assert report.status == "paid"
    assert report.paid_count == report.players == seen
    verify = await ledger.verify()
    assert verify.ok, verify.problems
    await store.close()
    return {
        "players": report.paid_count,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "baseline_seconds": round(baseline, 3),
        "ratio": round(seconds / baseline, 2) if baseline else 0.0,
        "total": report.paid_amount,
        "peak_rss_mb": round(peak, 1),
    }


def _child(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def measure(url: str, players: int) -> dict[str, float | int]:
    """Generate then distribute, each in its own process."""
    t0 = time.perf_counter()
    _child("--generate", url, str(players))
    generated = time.perf_counter() - t0
    figures: dict[str, float | int] = json.loads(_child("--distribute", url))
    figures["generate_seconds"] = round(generated, 1)
    return figures


async def _pg_reachable(url: str) -> bool:
    try:
        store = await Store.connect(url)
    except Exception:
        return False
    await store.close()
    return True


async def _with_pg(server: str, players: int) -> dict[str, float | int]:
    async with fresh_postgres_database(server) as url:
        return await asyncio.to_thread(measure, url, players)


def main() -> None:
    """Parse arguments; run the children or the whole benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--generate", nargs=2, metavar=("URL", "PLAYERS"))
    parser.add_argument("--distribute", metavar="URL")
    args = parser.parse_args()
    if args.generate:
        asyncio.run(generate(args.generate[0], int(args.generate[1])))
        print("{}")
        return
    if args.distribute:
        print(json.dumps(asyncio.run(distribute(args.distribute))))
        return
    large, small = (3_000, 1_000) if args.quick else (100_000, 20_000)
    results: dict[str, dict[str, dict[str, float | int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = {}
        for size in (small, large):
            figures = measure(sqlite_url(Path(tmp) / f"bench{size}.db"), size)
            results["sqlite"][str(size)] = figures
            print(f"sqlite     {size:>7} players: {json.dumps(figures)}", flush=True)
    server = os.environ.get("GAMEPAY_BENCH_POSTGRES_URL") or os.environ.get(
        "GAMEPAY_TEST_POSTGRES_URL"
    )
    if server and asyncio.run(_pg_reachable(server)):
        results["postgresql"] = {}
        for size in (small, large):
            figures = asyncio.run(_with_pg(server, size))
            results["postgresql"][str(size)] = figures
            print(f"postgresql {size:>7} players: {json.dumps(figures)}", flush=True)
    headline = results["sqlite"][str(large)]
    print(
        json.dumps(
            {
                "bench": "rewards",
                "quick": args.quick,
                "players": large,
                "seconds": headline["seconds"],
                "peak_rss_mb": headline["peak_rss_mb"],
                "backends": results,
            }
        )
    )


if __name__ == "__main__":
    main()
