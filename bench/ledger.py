"""Ledger throughput on SQLite and PostgreSQL, each beside a raw-SQL baseline in the same run.

(a) single transfers, each in its own transaction; (b) batches of transfers; (c) on PostgreSQL,
single transfers from 16 concurrent workers. The baseline does the same writes through the same
driver (aiosqlite / asyncpg, used directly): lock/read the balance rows, insert the transfer
rows, write the new balances, commit. The ratios are ledger / raw.

Singles (a, c) run as alternating blocks of 100 (400 concurrent), ledger then raw then raw then
ledger..., 8 pairs (``--quick``) or 20: each rate is the median block and each ratio the median
of the adjacent pairs' ratios, so a shared machine's swings hit both sides alike. Batches (b)
are the best of 2 or 3 interleaved rounds.

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
import statistics
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
WORKERS = 16
"""Concurrent workers of the PostgreSQL concurrent-singles figure (connections each side)."""


async def _setup(url: str) -> tuple[Store, Ledger]:
    store = await Store.connect(url, pool_size=WORKERS)
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


async def ledger_concurrent(ledger: Ledger, n: int, workers: int, tag: str) -> int:
    """n transfers, each its own transaction, from ``workers`` concurrent tasks."""
    pairs = _pairs(n, 3)

    async def worker(w: int) -> None:
        for i in range(w, n, workers):
            d, c, amt = pairs[i]
            await ledger.transfer(f"{tag}-c{i}", TransferSpec(d, c, ASSET, amt))

    await asyncio.gather(*(worker(w) for w in range(workers)))
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


async def _sqlite_connect(path: str) -> aiosqlite.Connection:
    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute("PRAGMA busy_timeout = 10000")
    await db.execute("PRAGMA synchronous = FULL")  # the store's default
    await db.execute("PRAGMA foreign_keys = ON")
    return db


async def _raw_sqlite_on(
    db: aiosqlite.Connection, items: list[list[tuple[str, str, int]]], tag: str
) -> int:
    """Each list in ``items`` is one transaction: read balances, insert transfers, update."""
    count = 0
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
    return count


async def raw_sqlite(path: str, items: list[list[tuple[str, str, int]]], tag: str) -> int:
    """Each list in ``items`` is one transaction: read balances, insert transfers, update."""
    db = await _sqlite_connect(path)
    try:
        return await _raw_sqlite_on(db, items, tag)
    finally:
        await db.close()


async def _raw_postgres_on(
    db: asyncpg.Connection, items: list[tuple[int, list[tuple[str, str, int]]]], tag: str
) -> int:
    """Apply each numbered item as one transaction of raw asyncpg writes; the rows written."""
    count = 0
    for t, rows in items:
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
    return count


async def raw_postgres(url: str, items: list[list[tuple[str, str, int]]], tag: str) -> int:
    """The asyncpg version of raw_sqlite, with SELECT ... FOR UPDATE."""
    db = await asyncpg.connect(url)
    try:
        return await _raw_postgres_on(db, list(enumerate(items)), tag)
    finally:
        await db.close()


# ------------------------------------------------------------------ driver


async def _paired(
    ours: Callable[[int], Awaitable[int]], raw: Callable[[int], Awaitable[int]], pairs: int
) -> tuple[float, float, float, float, float]:
    """Alternate blocks of ours and raw (``pairs`` each, the order flipping every pair, so both
    sides share the machine's moments): median block rates, median ratio of adjacent blocks,
    and best rates per CPU-second of this process."""
    ours_rates: list[float] = []
    raw_rates: list[float] = []
    ours_cpu: list[float] = []
    raw_cpu: list[float] = []
    for i in range(pairs):
        sides = ((ours, ours_rates, ours_cpu), (raw, raw_rates, raw_cpu))
        for work, rates, cpus in sides if i % 2 == 0 else reversed(sides):
            wall, cpu = await _timed(work(i))
            rates.append(wall)
            cpus.append(cpu)
    ratios = [o / r for o, r in zip(ours_rates, raw_rates, strict=True)]
    return (
        statistics.median(ours_rates),
        statistics.median(raw_rates),
        statistics.median(ratios),
        max(ours_cpu),
        max(raw_cpu),
    )


async def run_backend(name: str, url: str, raw_target: str, quick: bool) -> dict[str, Any]:
    """Measure one backend; ledger and raw runs are interleaved to share machine noise."""
    store, ledger = await _setup(url)
    block = 100
    pairs = 8 if quick else 20
    batches, size = (10, 1000) if quick else (40, 1000)
    raw = raw_sqlite if name == "sqlite" else raw_postgres
    figures: dict[str, list[tuple[float, float]]] = defaultdict(list)
    result: dict[str, Any] = {}
    if name == "sqlite":
        raw_dbs: list[Any] = [await _sqlite_connect(raw_target)]
    else:
        raw_dbs = [await asyncpg.connect(raw_target) for _ in range(WORKERS)]
    try:

        async def raw_single(i: int) -> int:
            items = [[p] for p in _pairs(block, 1000 + i)]
            if name == "sqlite":
                return await _raw_sqlite_on(raw_dbs[0], items, f"rs{i}")
            return await _raw_postgres_on(raw_dbs[0], list(enumerate(items)), f"rs{i}")

        single = await _paired(lambda i: ledger_single(ledger, block, f"s{i}"), raw_single, pairs)
        if name == "pg":

            async def raw_concurrent(i: int) -> int:
                numbered = list(enumerate([[p] for p in _pairs(block * 4, 2000 + i)]))
                counts = await asyncio.gather(
                    *(
                        _raw_postgres_on(db, numbered[w::WORKERS], f"rc{i}")
                        for w, db in enumerate(raw_dbs)
                    )
                )
                return sum(counts)

            concurrent = await _paired(
                lambda i: ledger_concurrent(ledger, block * 4, WORKERS, f"c{i}"),
                raw_concurrent,
                pairs,
            )
            result[f"{name}_concurrent{WORKERS}_per_s"] = round(concurrent[0])
            result[f"{name}_raw_concurrent{WORKERS}_per_s"] = round(concurrent[1])
            result[f"{name}_concurrent{WORKERS}_ratio"] = round(concurrent[2], 3)
        for rnd in range(2 if quick else 3):
            tag = f"r{rnd}"
            figures["batch"].append(await _timed(ledger_batch(ledger, batches, size, tag)))
            batch_items = [_pairs(size, 500 + b) for b in range(batches)]
            figures["raw_batch"].append(await _timed(raw(raw_target, batch_items, f"{tag}-rb")))
        report = await ledger.verify()
        assert report.ok, report.problems
    finally:
        await store.close()
        for db in raw_dbs:
            await db.close()
    best = {k: max(wall for wall, _ in v) for k, v in figures.items()}
    cpu = {k: max(c for _, c in v) for k, v in figures.items()}
    result.update(
        {
            f"{name}_single_per_s": round(single[0]),
            f"{name}_raw_single_per_s": round(single[1]),
            f"{name}_single_ratio": round(single[2], 3),
            f"{name}_batch_per_s": round(best["batch"]),
            f"{name}_raw_batch_per_s": round(best["raw_batch"]),
            f"{name}_batch_ratio": round(best["batch"] / best["raw_batch"], 3),
            # Per CPU-second of this process (SQLite's own work runs in it; PostgreSQL's does
            # not): what a core free of other load would give.
            f"{name}_single_cpu_per_s": round(single[3]),
            f"{name}_raw_single_cpu_per_s": round(single[4]),
            f"{name}_batch_cpu_per_s": round(cpu["batch"]),
            f"{name}_raw_batch_cpu_per_s": round(cpu["raw_batch"]),
            f"{name}_batch_cpu_ratio": round(cpu["batch"] / cpu["raw_batch"], 3),
        }
    )
    for key, value in sorted(result.items()):
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
        results.update(await run_backend("sqlite", sqlite_url(path), path, args.quick))
    if pg_url:
        try:
            async with fresh_postgres_database(pg_url) as url:
                results.update(await run_backend("pg", url, url, args.quick))
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"PostgreSQL skipped: {exc}")
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
