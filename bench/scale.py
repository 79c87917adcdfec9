"""Game-server replicas on one PostgreSQL database, beside raw asyncpg baselines of the same buy.

    python bench/scale.py --quick            # < 4 minutes
    python bench/scale.py --replicas 3 --players 96 --duration 20

Processes, like a studio's deployment: ``--replicas`` game-server processes (the example shop:
store, ledger, payments, the websocket adapter, a bus), each with its own connection pool, on
ONE PostgreSQL database; one player process holding every player's websocket connections (one
to buy on, one to another replica to watch pushes arrive); and this process, which runs the
baselines, funds the players, and verifies the ledger at the end.

Phases, all in one run:

1. **raw hot / raw cold**: raw asyncpg, 32 connections, the same buy as gamepay's (debit the
   player's gold, credit revenue, debit the item's issuer, credit the player's item, 2 transfer
   rows, 1 order row, one transaction) on the same tables in a database of their own. "hot"
   updates the shared revenue and issuer balance rows on every buy (the naive design); "cold"
   leaves them out (what the database can do without hot rows).
2. **saturated**: every player buys with its balance back to back on its replica.
3. **pushes** (for the PostgreSQL bus, then for NATS when a NATS bus and server are there):
   paced buys; each buy's ``asset_granted`` push must reach the player's connection on ANOTHER
   replica: its latency (buy sent -> push received there) and the pushes never received.

The last line printed is one JSON object (``replicas``, ``buys_per_s``, ``raw_hot_per_s``,
``raw_cold_per_s``, ``ratio_vs_hot``, ``ratio_vs_cold``, ``push_p99_ms_postgres``,
``push_p99_ms_nats``, ``lost_pushes_postgres``, ``lost_pushes_nats``, ``ledger_verified``...).
PostgreSQL comes from ``--pg-url``, ``GAMEPAY_BENCH_POSTGRES_URL`` or
``GAMEPAY_TEST_POSTGRES_URL``; NATS from ``--nats-url`` or ``GAMEPAY_BUS_URL`` (``nats://...``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))

from websockets.asyncio.client import ClientConnection, connect

from bench.children import child_result, reply_to, start_child
from gamepay.core.accounts import AccountKind, issuer_account, player_account
from gamepay.core.assets import Currency, Item
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.eventloop import run as run_loop
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.testing import fresh_postgres_database

SCRIPT = Path(__file__).resolve()
GOLD = Currency("gold")
POTION = Item("potion")
PRICE = 60  # the example shop's potion: 60 gold for 3 potions
GRANT = 3
RAW_CONNECTIONS = 32
RAW_PLAYERS = 3200
REVENUE = "revenue"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


# ------------------------------------------------------------------ raw asyncpg baselines

_DEBIT_PLAYER = (
    "UPDATE gp_balances SET available = available - $2 WHERE account_id = $1"
    " AND asset = 'currency:gold' AND slot = 0 AND available >= $2"
)
_CREDIT_REVENUE = (
    "UPDATE gp_balances SET available = available + $1 WHERE account_id = 'revenue'"
    " AND asset = 'currency:gold' AND slot = 0"
)
_DEBIT_ISSUER = (
    "UPDATE gp_balances SET available = available - $1 WHERE account_id = 'issuer:item:potion'"
    " AND asset = 'item:potion' AND slot = 0"
)
_CREDIT_ITEM = (
    "INSERT INTO gp_balances (account_id, asset, slot, available, held)"
    " VALUES ($1, 'item:potion', 0, $2, 0) ON CONFLICT (account_id, asset, slot)"
    " DO UPDATE SET available = gp_balances.available + EXCLUDED.available"
)
_TRANSFERS = (
    "INSERT INTO gp_transfers (id, batch_id, debit, credit, asset, amount, kind, memo,"
    " created_at) VALUES ($1 || '/0', $1, $2, 'revenue', 'currency:gold', $3, 'purchase',"
    " NULL, $5), ($1 || '/1', $1, 'issuer:item:potion', $2, 'item:potion', $4, 'grant', NULL,"
    " $5)"
)
_ORDER = (
    "INSERT INTO gp_orders (id, player_id, kind, status, request_id, sku, settled_amount,"
    " granted, price_asset_id, price_amount, poll_attempts, create_attempts, created_at,"
    " updated_at) VALUES ($1, $2, 'balance', 'completed', $1, 'potion', 0, true,"
    " 'currency:gold', $3, 0, 0, $4, $4)"
)


async def _raw_setup(url: str) -> None:
    """The gamepay schema, the buy's accounts, and RAW_PLAYERS funded players."""
    store = await Store.connect(url)
    try:
        await store.migrate()
        ledger = Ledger(store)
        await ledger.register_asset(GOLD)
        await ledger.register_asset(POTION)
        await ledger.open_account(
            issuer_account(GOLD.id), kind=AccountKind.SYSTEM, allow_negative=True
        )
        await ledger.open_account(
            issuer_account(POTION.id), kind=AccountKind.SYSTEM, allow_negative=True
        )
        await ledger.open_account(REVENUE, kind=AccountKind.SYSTEM)
        for i in range(RAW_PLAYERS):
            await ledger.open_account(player_account(f"raw-{i}"))
        await ledger.batch(
            "raw-funding",
            [
                TransferSpec(issuer_account(GOLD.id), player_account(f"raw-{i}"), GOLD.id, 10**9)
                for i in range(RAW_PLAYERS)
            ],
        )
    finally:
        await store.close()
    db = await asyncpg.connect(url)
    try:  # the naive design keeps one row per balance: fold the slots for the baseline
        await db.execute(
            "INSERT INTO gp_balances (account_id, asset, slot, available, held) VALUES"
            " ('revenue', 'currency:gold', 0, 0, 0),"
            " ('issuer:item:potion', 'item:potion', 0, 0, 0) ON CONFLICT DO NOTHING"
        )
    finally:
        await db.close()


async def raw_buys(url: str, hot: bool, duration: float, tag: str) -> float:
    """Buys per second from RAW_CONNECTIONS connections, each on its own players."""
    dbs = [await asyncpg.connect(url) for _ in range(RAW_CONNECTIONS)]
    count = 0
    end = time.perf_counter() + duration

    async def worker(w: int, db: asyncpg.Connection) -> None:
        nonlocal count
        n = 0
        players = [player_account(f"raw-{i}") for i in range(w, RAW_PLAYERS, RAW_CONNECTIONS)]
        while time.perf_counter() < end:
            player = players[n % len(players)]
            order = f"{tag}-{w}-{n}"
            n += 1
            now = datetime.now(UTC)
            async with db.transaction():
                status = await db.execute(_DEBIT_PLAYER, player, PRICE)
                if status != "UPDATE 1":
                    raise RuntimeError("a raw buyer ran out of gold")
                if hot:
                    await db.execute(_CREDIT_REVENUE, PRICE)
                    await db.execute(_DEBIT_ISSUER, GRANT)
                await db.execute(_CREDIT_ITEM, player, GRANT)
                await db.execute(_TRANSFERS, f"buy:{order}", player, PRICE, GRANT, now)
                await db.execute(_ORDER, order, player, PRICE, now)
            count += 1

    start = time.perf_counter()
    try:
        await asyncio.gather(*(worker(w, db) for w, db in enumerate(dbs)))
    finally:
        for db in dbs:
            await db.close()
    return count / (time.perf_counter() - start)


# ------------------------------------------------------------------ replicas


async def _replica(job: dict[str, Any]) -> None:
    """One game-server process: the example shop on the shared database until stdin closes."""
    from contextlib import AsyncExitStack

    from examples.shop.server import running_shop
    from gamepay_ws import AdapterConfig

    config = AdapterConfig(rate_burst=100_000, rate_per_second=100_000, outbox_size=100_000)
    async with AsyncExitStack() as stack:
        bus: Any = None
        if job["bus_url"]:  # NATS JetStream, relayed from the outbox (gamepay.bus.factory)
            from gamepay.economy.parts import default_bus

            bus_store = await Store.connect(job["url"], pool_size=2, max_overflow=2)
            stack.push_async_callback(bus_store.close)
            bus = default_bus(bus_store, database_url=job["url"], bus_url=job["bus_url"])
            await bus.start()
            stack.push_async_callback(bus.close)
        shop = await stack.enter_async_context(
            running_shop(
                job["url"], secret=job["secret"], adapter_config=config, bus=bus, ws_port=0
            )
        )
        print(json.dumps({"ws_url": shop.ws_url}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def _cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds of processes so far (Linux /proc), or None elsewhere."""
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def running_replicas(
    count: int, url: str, secret: str, bus_url: str | None, tmp: Path
) -> AsyncIterator[tuple[list[str], list[int]]]:
    """Start ``count`` replica processes; yield their websocket URLs and pids; stop them."""
    children = []
    try:
        for i in range(count):
            job = {"url": url, "secret": secret, "bus_url": bus_url}
            child = await start_child(
                SCRIPT, "--replica", job, tmp / f"replica-{i}.json", stdin=True
            )
            children.append(child)
        urls = []
        for child in children:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), 120)
            if not line:
                raise RuntimeError("a replica failed to start")
            urls.append(json.loads(line)["ws_url"])
        yield urls, [child.pid for child in children]
    finally:
        for child in children:
            if child.stdin is not None and not child.stdin.is_closing():
                child.stdin.close()
        for child in children:
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()
                await child.wait()


# ------------------------------------------------------------------ players


async def _players(job: dict[str, Any]) -> dict[str, Any]:
    """The players' process: each player buys back to back on its replica for the duration."""
    urls, tokens, duration = job["ws_urls"], job["tokens"], job["duration"]
    conns: list[ClientConnection] = []
    for i, token in enumerate(tokens):
        ws = await connect(urls[i % len(urls)], compression=None, max_queue=None)
        await ws.send(json.dumps({"type": "authenticate", "id": 0, "token": token}))
        reply = await reply_to(ws, 0)
        assert reply["type"] == "authenticate_result", reply
        conns.append(ws)
    latencies: list[float] = []
    failures = 0
    first_failure: dict[str, Any] | None = None
    run = secrets.token_hex(4)
    start = time.perf_counter()
    cpu_start = time.process_time()
    end = start + duration

    async def player(i: int, ws: ClientConnection) -> None:
        nonlocal failures, first_failure
        n = 0
        while time.perf_counter() < end:
            n += 1
            began = time.perf_counter()
            frame = {"type": "buy_with_balance", "id": n, "sku": "potion"}
            frame["request_id"] = f"sat-{run}-{i}-{n}"
            await ws.send(json.dumps(frame))
            reply = await reply_to(ws, n)
            if reply["type"] != "buy_with_balance_result":
                failures += 1
                first_failure = first_failure or reply
            latencies.append((time.perf_counter() - began) * 1000)

    try:
        await asyncio.gather(*(player(i, ws) for i, ws in enumerate(conns)))
        elapsed = max(duration, time.perf_counter() - start)
        cpu = time.process_time() - cpu_start
    finally:
        await asyncio.gather(*(ws.close() for ws in conns))
    return {
        "buys": len(latencies),
        "seconds": elapsed,
        "failures": failures,
        "first_failure": first_failure,
        "p50_ms": _percentile(latencies, 0.5),
        "p99_ms": _percentile(latencies, 0.99),
        "cpu_ms_per_buy": round(cpu * 1000 / len(latencies), 2) if latencies else None,
    }


async def run_players(job: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Run the players' process on ``job``; its figures."""
    child = await start_child(SCRIPT, "--players-from", job, tmp / "players.json", stdin=False)
    return await child_result(child)


async def _fund(url: str, players: list[str], amount: int) -> None:
    """Open the players' accounts and give each ``amount`` gold in one batch."""
    store = await Store.connect(url)
    try:
        ledger = Ledger(store)
        # The replicas register gold; its issuer account is opened on its first grant (here).
        await ledger.open_account(
            issuer_account(GOLD.id), kind=AccountKind.SYSTEM, allow_negative=True
        )
        for name in players:
            await ledger.open_account(player_account(name))
        await ledger.batch(
            f"bench-funding-{secrets.token_hex(4)}",
            [
                TransferSpec(
                    issuer_account(GOLD.id),
                    player_account(name),
                    GOLD.id,
                    amount,
                    TransferKind.GRANT,
                )
                for name in players
            ],
        )
    finally:
        await store.close()


async def _verify(url: str) -> bool:
    store = await Store.connect(url)
    try:
        report = await Ledger(store).verify()
        if not report.ok:
            print("ledger problems:", report.problems[:5])
        return report.ok
    finally:
        await store.close()


async def _probe(urls: list[str], tokens: list[str], buys: int) -> dict[str, Any] | None:
    """Push delays from replica A to replica B (``bench/push_probe.py``), or None without it."""
    try:
        probe = importlib.import_module("push_probe")
    except ImportError:
        return None
    report = await probe.probe_pushes(urls[0], urls[1], tokens, sku="potion", buys_per_player=buys)
    result: dict[str, Any] = {
        "p99_ms": report.push_p99_ms,
        "p50_ms": report.push_p50_ms,
        "lost": report.lost,
        "duplicates": report.duplicates,
        "events": report.events,
    }
    return result


async def bench(args: argparse.Namespace, pg_url: str, nats_url: str | None) -> dict[str, Any]:
    """Every phase; the figures."""
    from gamepay_ws.auth import issue_token

    quick = args.quick
    raw_s = 8.0 if quick else 20.0
    duration = args.duration or (15.0 if quick else 30.0)
    players = args.players or 64
    result: dict[str, Any] = {"replicas": args.replicas, "players": players, "quick": quick}
    async with fresh_postgres_database(pg_url) as raw_url:
        await _raw_setup(raw_url)
        hot = await raw_buys(raw_url, True, raw_s, "hot")
        cold = await raw_buys(raw_url, False, raw_s, "cold")
    result["raw_hot_per_s"] = round(hot, 1)
    result["raw_cold_per_s"] = round(cold, 1)
    secret = secrets.token_hex(32)
    names = [f"p{i}" for i in range(players)]
    probe_names = [f"probe{i}" for i in range(8)]
    tokens = [issue_token(name, secret, 3600) for name in names]
    probe_tokens = [issue_token(name, secret, 3600) for name in probe_names]
    with tempfile.TemporaryDirectory(prefix="gamepay-bench-scale-") as tmp_dir:
        tmp = Path(tmp_dir)
        async with fresh_postgres_database(pg_url) as url:
            async with running_replicas(args.replicas, url, secret, None, tmp) as (urls, pids):
                await _fund(url, names + probe_names, PRICE * 5000)
                cpu_before = _cpu_seconds(pids)
                sat = await run_players(
                    {"ws_urls": urls, "tokens": tokens, "duration": duration}, tmp
                )
                cpu_after = _cpu_seconds(pids)
                pushes_pg = await _probe(urls, probe_tokens, 10 if quick else 30)
            pushes_nats = None
            if nats_url:
                replicas = running_replicas(args.replicas, url, secret, nats_url, tmp)
                async with replicas as (urls, _pids):
                    pushes_nats = await _probe(urls, probe_tokens, 10 if quick else 30)
            result["ledger_verified"] = await _verify(url)
    buys_per_s = sat["buys"] / sat["seconds"]
    result.update(
        {
            "buys_per_s": round(buys_per_s, 1),
            "buy_p50_ms": sat["p50_ms"],
            "buy_p99_ms": sat["p99_ms"],
            "failed_buys": sat["failures"],
            "first_failed_reply": sat["first_failure"],
            # the replicas' own CPU per buy (websocket, adapter, payments, ledger, outbox, pushes)
            "replica_cpu_ms_per_buy": None
            if cpu_before is None or cpu_after is None or not sat["buys"]
            else round((cpu_after - cpu_before) * 1000 / sat["buys"], 2),
            # the players' process (must not be the bottleneck: compare with the replicas')
            "players_cpu_ms_per_buy": sat["cpu_ms_per_buy"],
            "ratio_vs_hot": round(buys_per_s / hot, 3),
            "ratio_vs_cold": round(buys_per_s / cold, 3),
        }
    )
    for bus, pushes in (("postgres", pushes_pg), ("nats", pushes_nats)):
        result[f"push_p99_ms_{bus}"] = None if pushes is None else pushes["p99_ms"]
        result[f"lost_pushes_{bus}"] = None if pushes is None else pushes["lost"]
        result[f"duplicate_pushes_{bus}"] = None if pushes is None else pushes["duplicates"]
    return result


def main() -> None:
    """Parse arguments and run (or be a replica / the players' process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short phases (< 4 minutes)")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--players", type=int, default=None, help="buying players (default 64)")
    parser.add_argument("--duration", type=float, default=None, help="saturated phase (s)")
    parser.add_argument("--raw-seconds", type=float, default=None, help="each raw phase (s)")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--nats-url", default=None)
    parser.add_argument("--replica", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--players-from", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replica is not None:
        run_loop(_replica(json.loads(Path(args.replica).read_text())))
        return
    if args.players_from is not None:
        print(json.dumps(run_loop(_players(json.loads(Path(args.players_from).read_text())))))
        return
    if args.replicas < 2:
        parser.error("--replicas must be at least 2")
    pg_url = (
        args.pg_url
        or os.environ.get("GAMEPAY_BENCH_POSTGRES_URL")
        or os.environ.get("GAMEPAY_TEST_POSTGRES_URL")
    )
    if not pg_url:
        parser.error("a PostgreSQL server is needed: --pg-url or GAMEPAY_TEST_POSTGRES_URL")
    nats_url = (
        args.nats_url
        or os.environ.get("GAMEPAY_BUS_URL")
        or os.environ.get("GAMEPAY_TEST_NATS_URL")
        or None
    )
    if nats_url and not nats_url.startswith(("nats://", "tls://")):
        nats_url = None
    if nats_url and "?" not in nats_url:  # a stream of this run's own on a shared server
        run = secrets.token_hex(4)
        nats_url += f"?stream=GPBENCH_{run}&subject=gpbench.{run}.events"
    started = time.perf_counter()
    result = run_loop(bench(args, pg_url, nats_url))
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(
        f"{result['replicas']} replicas: {result['buys_per_s']} buys/s; raw hot "
        f"{result['raw_hot_per_s']}/s, raw cold {result['raw_cold_per_s']}/s "
        f"(x{result['ratio_vs_hot']} / x{result['ratio_vs_cold']})"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
