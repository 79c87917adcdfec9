"""Ledger throughput on SQLite and PostgreSQL, each beside a raw-SQL baseline in the same run.

(a) single transfers, each in its own transaction; (b) batches of transfers. The baseline does the
same writes through the same driver (aiosqlite / asyncpg, used directly): lock/read the balance
rows, insert the transfer rows, write the new balances, commit. The ratios are ledger / raw.

    python bench/ledger.py [--quick] [--pg-url postgresql://postgres@127.0.0.1:5432/test]

PostgreSQL runs when --pg-url, GAMEPAY_BENCH_POSTGRES_URL or GAMEPAY_TEST_POSTGRES_URL is set
(in a fresh database that is dropped afterwards). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gamepay.core.accounts import AccountKind, player_account
from gamepay.core.assets import Currency
from gamepay.core.transfers import TransferSpec
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.testing import fresh_postgres_database, sqlite_url

ASSET = "currency:gold"
ISSUER = "issuer:currency:gold"
PLAYERS = 100
FUNDING = 10**30


async def _setup(url: str) -> tuple[Store, Ledger]:
    store = await Store.connect(url)
    await store.migrate()
    ledger = Ledger(store)
    await ledger.register_asset(Currency("gold"))
    await ledger.open_account(ISSUER, kind=AccountKind.SYSTEM, allow_negative=True)
    for i in range(PLAYERS):
        await ledger.open_account(player_account(f"p{i}"))
    await ledger.batch(
        "funding",
        [
            TransferSpec(ISSUER, player_account(f"p{i}"), ASSET, FUNDING, kind="grant")
            for i in range(PLAYERS)
        ],
    )
    return store, ledger


def _pairs(n: int, seed: int) -> list[tuple[str, str, int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.sample(range(PLAYERS), 2)
        out.append((player_account(f"p{a}"), player_account(f"p{b}"), rng.randint(1, 1000)))
    return out


async def _timed(work: Awaitable[int]) -> tuple[float, float]:
    """(transfers per wall second, transfers per CPU second of this process)."""
    start, cpu = time.perf_counter(), time.process_time()
    count = await work
    return count / (time.perf_counter() - start), count / max(time.process_time() - cpu, 1e-9)


# ------------------------------------------------------------------ ledger side


async def ledger_single(ledger: Ledger, n: int, tag: str) -> int:
    """n transfers, each its own transaction."""
    for i, (d, c, amt) in enumerate(_pairs(n, 1)):
        await ledger.transfer(f"{tag}-s{i}", TransferSpec(d, c, ASSET, amt))
    return n


async def ledger_batch(ledger: Ledger, batches: int, size: int, tag: str) -> int:
    """``batches`` atomic batches of ``size`` transfers."""
    for b in range(batches):
        specs = [TransferSpec(d, c, ASSET, amt) for d, c, amt in _pairs(size, 100 + b)]
        await ledger.batch(f"{tag}-b{b}", specs)
    return batches * size


# ------------------------------------------------------------------ raw SQL baselines


def _net(rows: list[tuple[str, str, int]]) -> dict[str, int]:
    net: dict[str, int] = defaultdict(int)
    for d, c, amt in rows:
        net[d] -= amt
        net[c] += amt
    return net


async def raw_sqlite(path: str, items: list[list[tuple[str, str, int]]], tag: str) -> int:
    """Each list in ``items`` is one transaction: read balances, insert transfers, update."""
    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute("PRAGMA busy_timeout = 10000")
    await db.execute("PRAGMA synchronous = FULL")  # the store's default
    await db.execute("PRAGMA foreign_keys = ON")
    count = 0
    try:
        for t, rows in enumerate(items):
            net = _net(rows)
            accounts = sorted(net)
            now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
            await db.execute("BEGIN IMMEDIATE")
            marks = ",".join("?" * len(accounts))
            cursor = await db.execute(
                f"SELECT account_id, available FROM gp_balances WHERE asset = ? "
                f"AND account_id IN ({marks}) ORDER BY account_id",
                [ASSET, *accounts],
            )
            balances = {a: int(v) for a, v in await cursor.fetchall()}
            for a in accounts:
                balances[a] += net[a]
                assert balances[a] >= 0
            await db.executemany(
                "INSERT INTO gp_transfers (id, batch_id, hold_id, debit, credit, asset, amount,"
                " kind, memo, created_at) VALUES (?, ?, NULL, ?, ?, ?, ?, 'transfer', NULL, ?)",
                [
                    (f"{tag}-{t}/{i}", f"{tag}-{t}", d, c, ASSET, str(amt), now)
                    for i, (d, c, amt) in enumerate(rows)
                ],
            )
            await db.executemany(
                "UPDATE gp_balances SET available = ? WHERE account_id = ? AND asset = ?",
                [(str(balances[a]), a, ASSET) for a in accounts],
            )
            await db.execute("COMMIT")
            count += len(rows)
    finally:
        await db.close()
    return count


async def raw_postgres(url: str, items: list[list[tuple[str, str, int]]], tag: str) -> int:
    """The asyncpg version of raw_sqlite, with SELECT ... FOR UPDATE."""
    db = await asyncpg.connect(url)
    count = 0
    try:
        for t, rows in enumerate(items):
            net = _net(rows)
            accounts = sorted(net)
            now = datetime.now(UTC)
            async with db.transaction():
                found = await db.fetch(
                    "SELECT account_id, available FROM gp_balances WHERE asset = $1 "
                    "AND account_id = ANY($2::text[]) ORDER BY account_id FOR UPDATE",
                    ASSET,
                    accounts,
                )
                balances = {r["account_id"]: int(r["available"]) for r in found}
                for a in accounts:
                    balances[a] += net[a]
                    assert balances[a] >= 0
                await db.executemany(
                    "INSERT INTO gp_transfers (id, batch_id, hold_id, debit, credit, asset, "
                    "amount, kind, memo, created_at) VALUES ($1, $2, NULL, $3, $4, $5, $6, "
                    "'transfer', NULL, $7)",
                    [
                        (f"{tag}-{t}/{i}", f"{tag}-{t}", d, c, ASSET, amt, now)
                        for i, (d, c, amt) in enumerate(rows)
                    ],
                )
                await db.executemany(
                    "UPDATE gp_balances SET available = $1 WHERE account_id = $2 AND asset = $3",
                    [(balances[a], a, ASSET) for a in accounts],
                )
            count += len(rows)
    finally:
        await db.close()
    return count


# ------------------------------------------------------------------ driver


async def run_backend(
    name: str, url: str, raw: Callable[..., Awaitable[int]], raw_target: str, quick: bool
) -> dict[str, Any]:
    """Measure one backend; ledger and raw runs are interleaved to share machine noise."""
    store, ledger = await _setup(url)
    singles = 300 if quick else 2000
    batches, size = (10, 1000) if quick else (40, 1000)
    figures: dict[str, list[tuple[float, float]]] = defaultdict(list)
    try:
        for rnd in range(2 if quick else 3):
            tag = f"r{rnd}"
            figures["single"].append(await _timed(ledger_single(ledger, singles, tag)))
            single_items = [[p] for p in _pairs(singles, 2)]
            figures["raw_single"].append(await _timed(raw(raw_target, single_items, f"{tag}-rs")))
            figures["batch"].append(await _timed(ledger_batch(ledger, batches, size, tag)))
            batch_items = [_pairs(size, 500 + b) for b in range(batches)]
            figures["raw_batch"].append(await _timed(raw(raw_target, batch_items, f"{tag}-rb")))
        report = await ledger.verify()
        assert report.ok, report.problems
    finally:
        await store.close()
    best = {k: max(wall for wall, _ in v) for k, v in figures.items()}
    cpu = {k: max(c for _, c in v) for k, v in figures.items()}
    result = {
        f"{name}_single_per_s": round(best["single"]),
        f"{name}_raw_single_per_s": round(best["raw_single"]),
        f"{name}_single_ratio": round(best["single"] / best["raw_single"], 3),
        f"{name}_batch_per_s": round(best["batch"]),
        f"{name}_raw_batch_per_s": round(best["raw_batch"]),
        f"{name}_batch_ratio": round(best["batch"] / best["raw_batch"], 3),
        # Per CPU-second of this process (SQLite's own work runs in it; PostgreSQL's does not):
        # what a core free of other load would give.
        f"{name}_single_cpu_per_s": round(cpu["single"]),
        f"{name}_raw_single_cpu_per_s": round(cpu["raw_single"]),
        f"{name}_batch_cpu_per_s": round(cpu["batch"]),
        f"{name}_raw_batch_cpu_per_s": round(cpu["raw_batch"]),
        f"{name}_batch_cpu_ratio": round(cpu["batch"] / cpu["raw_batch"], 3),
    }
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    return result


async def main() -> None:
    """Run SQLite always and PostgreSQL when a URL is known; print one JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()
    pg_url = (
        args.pg_url
        or os.environ.get("GAMEPAY_BENCH_POSTGRES_URL")
        or os.environ.get("GAMEPAY_TEST_POSTGRES_URL")
    )
    results: dict[str, Any] = {"quick": args.quick, "batch_size": 1000}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        results.update(await run_backend("sqlite", sqlite_url(path), raw_sqlite, path, args.quick))
    if pg_url:
        try:
            async with fresh_postgres_database(pg_url) as url:
                results.update(await run_backend("pg", url, raw_postgres, url, args.quick))
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"PostgreSQL skipped: {exc}")
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
