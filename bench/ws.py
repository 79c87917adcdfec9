"""Websocket adapter benchmark: N concurrent players buying items with their balance over real
sockets, beside a bare ``websockets`` echo server measured in the same run.

    python bench/ws.py --quick          # 100 players, < 60 s
    python bench/ws.py --quick --standalone   # the same over the standalone websockets server
    python bench/ws.py                  # 1,000 players
    python bench/ws.py --db postgresql://postgres@127.0.0.1:5432/bench_ws

Two processes, like a game server and its players: this one runs the example shop (sandbox,
Payments, the adapter) and the bare echo server in one event loop; a second process (this script
with ``--players-from``) holds every player's connections to both and measures the round trips.
Both servers are measured from the same client process under the same schedule. The players use
the shop's ``/ws`` (the ASGI endpoint on uvicorn, what ``gamepay serve`` runs), or with
``--standalone`` the adapter's standalone ``websockets`` server. Two loads:

- **paced** (the headline): every player buys every ``--interval`` seconds on average
  (exponential gaps, like players in a game); the echo server gets the same schedule. ``p50_ms``
  / ``p99_ms`` are buy round-trip latencies; ``echo_ratio`` is our completed round-trips/s over
  the echo's under the same offered load (1.0 means we kept up).
- **saturated**: every player sends its next request as soon as the previous reply arrives.
  Reported as ``saturated_*``: buys/s and pings/s (the adapter's own protocol path without the
  database) over echo round-trips/s.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from bench.children import child_result, reply_to, start_child
from examples.shop.server import running_shop
from gamepay.eventloop import loop_name
from gamepay.eventloop import run as run_loop
from gamepay.testing import sqlite_url
from gamepay_ws import AdapterConfig

SCRIPT = Path(__file__).resolve()
PRICE = 60  # potion: 60 gold
FRAME = json.dumps(
    {"type": "buy_with_balance", "id": 123456, "sku": "potion", "request_id": "bench-123456"}
)


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _connect_all(url: str, n: int) -> list[ClientConnection]:
    conns: list[ClientConnection] = []
    for start in range(0, n, 100):
        batch = [
            connect(url, compression=None, max_queue=None)
            for _ in range(start, min(n, start + 100))
        ]
        conns.extend(await asyncio.gather(*batch))
    return conns


Op = Callable[[ClientConnection, int], Awaitable[None]]


async def _buy(ws: ClientConnection, n: int) -> None:
    key = uuid.uuid4().hex
    await ws.send(
        json.dumps({"type": "buy_with_balance", "id": n, "sku": "potion", "request_id": key})
    )
    reply = await reply_to(ws, n)
    if reply["type"] != "buy_with_balance_result":
        raise RuntimeError(f"buy failed: {reply}")


async def _ping(ws: ClientConnection, n: int) -> None:
    await ws.send(json.dumps({"type": "ping", "id": n}))
    await reply_to(ws, n)


async def _echo_op(ws: ClientConnection, n: int) -> None:
    await ws.send(FRAME)
    await ws.recv()


async def _run(
    conns: list[ClientConnection], op: Op, duration: float, interval: float | None, seed: int
) -> tuple[list[float], float]:
    """Run ``op`` on every connection for ``duration`` s; paced (mean gap) or back to back."""
    latencies: list[float] = []
    gc.collect()  # the garbage of earlier phases, collected now rather than inside this one
    rng = random.Random(seed)
    gaps = [rng.random() for _ in conns]
    start = time.perf_counter()
    end = start + duration

    async def player(i: int, ws: ClientConnection) -> None:
        local = random.Random(seed + i)
        n = 0
        if interval is not None:
            await asyncio.sleep(min(gaps[i] * interval, max(0.0, end - time.perf_counter())))
        while time.perf_counter() < end:
            began = time.perf_counter()
            n += 1
            await op(ws, n)
            latencies.append((time.perf_counter() - began) * 1000)
            if interval is not None:
                gap = local.expovariate(1 / interval)
                await asyncio.sleep(min(gap, max(0.0, end - time.perf_counter())))

    await asyncio.gather(*(player(i, ws) for i, ws in enumerate(conns)))
    # requests started before the end may finish after it: count the time they took
    return latencies, max(duration, time.perf_counter() - start)


async def _players(job: dict[str, Any]) -> dict[str, Any]:
    """The client process: connect every player to both servers, run every load, report."""
    players, duration, interval = job["players"], job["duration"], job["interval"]
    ours = await _connect_all(job["ws_url"], players)
    for i, (ws, token) in enumerate(zip(ours, job["tokens"], strict=True)):
        await ws.send(json.dumps({"type": "authenticate", "id": 0, "token": token}))
        reply = await reply_to(ws, 0)
        assert reply["type"] == "authenticate_result", (i, reply)
    echoes = await _connect_all(job["echo_url"], players)
    # Every player is connected: let the server collect the garbage of all those connections
    # now, then start (a full collection over 2,000 sockets' objects pauses ~200 ms).
    print("connected", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    try:
        paced, paced_s = await _run(ours, _buy, duration, interval, 1)
        echo_paced, echo_paced_s = await _run(echoes, _echo_op, duration, interval, 1)
        short = max(2.0, duration / 3)
        sat_buy, sat_buy_s = await _run(ours, _buy, short, None, 2)
        sat_ping, sat_ping_s = await _run(ours, _ping, short, None, 3)
        sat_echo, sat_echo_s = await _run(echoes, _echo_op, short, None, 4)
    finally:
        await asyncio.gather(*(ws.close() for ws in ours + echoes))
    return {
        "paced": [paced, paced_s],
        "echo_paced": [echo_paced, echo_paced_s],
        "sat_buy": [sat_buy, sat_buy_s],
        "sat_ping": [sat_ping, sat_ping_s],
        "sat_echo": [sat_echo, sat_echo_s],
    }


async def _run_players(job: dict[str, Any], tmp: Path, *, freeze: bool) -> dict[str, Any]:
    """Start the client process on ``job`` and wait for its figures (this loop keeps serving).

    ``freeze``: once every player is connected, ``gc.freeze()`` the server's heap (see
    docs/operations.md: full collections then skip the connections' long-lived objects)."""
    child = await start_child(SCRIPT, "--players-from", job, tmp / "job.json", stdin=True)
    assert child.stdin is not None
    assert child.stdout is not None
    if (await child.stdout.readline()).strip() == b"connected":
        gc.collect()
        if freeze:
            gc.freeze()
        child.stdin.write(b"go\n")
        await child.stdin.drain()
    return await child_result(child)


async def bench(
    players: int,
    duration: float,
    interval: float,
    db: str | None,
    *,
    freeze: bool = False,
    standalone: bool = False,
) -> dict[str, Any]:
    """Set up the shop and the echo server, run the players' process, return the figures."""
    config = AdapterConfig(rate_burst=10_000, rate_per_second=10_000, outbox_size=100_000)
    with tempfile.TemporaryDirectory(prefix="gamepay-bench-ws-") as tmp:
        url = db or sqlite_url(Path(tmp) / "bench.db")
        async with (
            running_shop(url, adapter_config=config, ws_port=0 if standalone else None) as shop,
            serve(_echo, "127.0.0.1", 0, compression=None) as echo_server,
        ):
            echo_url = f"ws://127.0.0.1:{echo_server.sockets[0].getsockname()[1]}"
            names = [f"bench-{i}" for i in range(players)]
            # Enough gold for the paced phase (3x its mean) and a saturated phase at up to
            # 5,000 buys/s in all: running dry would fail the run, not measure it.
            saturated = max(2.0, duration / 3) * 5000 / players
            buys_per_player = int(duration / interval * 3 + saturated + 20)
            t0 = time.perf_counter()
            for name in names:
                await shop.give_gold(name, PRICE * buys_per_player)
            setup_s = time.perf_counter() - t0
            job = {
                "players": players,
                "duration": duration,
                "interval": interval,
                "ws_url": shop.ws_url,
                "echo_url": echo_url,
                "tokens": [shop.token(name, ttl=3600) for name in names],
            }
            runs = await _run_players(job, Path(tmp), freeze=freeze)
            gc.unfreeze()
            verified = (await shop.payments.ledger.verify()).ok
    paced, paced_s = runs["paced"]
    echo_paced, echo_paced_s = runs["echo_paced"]
    ops = len(paced) / paced_s
    echo_ops = len(echo_paced) / echo_paced_s
    sat_buy_ops = len(runs["sat_buy"][0]) / runs["sat_buy"][1]
    sat_ping_ops = len(runs["sat_ping"][0]) / runs["sat_ping"][1]
    sat_echo_ops = len(runs["sat_echo"][0]) / runs["sat_echo"][1]
    return {
        "players": players,
        "backend": "postgresql" if db and db.startswith("postgres") else "sqlite",
        "transport": "standalone" if standalone else "asgi",
        "interval_s": interval,
        "duration_s": duration,
        "buys": len(paced),
        "p50_ms": round(statistics.median(paced), 2),
        "p99_ms": round(_percentile(paced, 0.99), 2),
        "ops_per_s": round(ops, 1),
        "echo_ops_per_s": round(echo_ops, 1),
        "echo_p50_ms": round(statistics.median(echo_paced), 2),
        "echo_p99_ms": round(_percentile(echo_paced, 0.99), 2),
        "echo_ratio": round(ops / echo_ops, 3),
        "saturated_buy_ops_per_s": round(sat_buy_ops, 1),
        "saturated_buy_p99_ms": round(_percentile(runs["sat_buy"][0], 0.99), 2),
        "saturated_ping_ops_per_s": round(sat_ping_ops, 1),
        "saturated_echo_ops_per_s": round(sat_echo_ops, 1),
        "saturated_buy_echo_ratio": round(sat_buy_ops / sat_echo_ops, 3),
        "saturated_ping_echo_ratio": round(sat_ping_ops / sat_echo_ops, 3),
        "setup_s": round(setup_s, 1),
        "gc_frozen": freeze,
        "ledger_verified": verified,
    }


def main() -> None:
    """Parse arguments, run, print a summary and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 players, short runs (< 60 s)")
    parser.add_argument("--players", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None, help="paced run length (s)")
    parser.add_argument(
        "--interval", type=float, default=None, help="mean s between a player's buys"
    )
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite)")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() the server once players connected"
    )
    parser.add_argument(
        "--standalone", action="store_true", help="players use the standalone websockets server"
    )
    parser.add_argument("--players-from", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.players_from is not None:  # the client process
        job = json.loads(Path(args.players_from).read_text())
        print(json.dumps(run_loop(_players(job))))
        return
    players = args.players or (100 if args.quick else 1000)
    duration = args.duration or (6.0 if args.quick else 20.0)
    interval = args.interval or (2.0 if args.quick else 10.0)
    result = run_loop(
        bench(
            players,
            duration,
            interval,
            args.db,
            freeze=args.gc_freeze,
            standalone=args.standalone,
        )
    )
    result["loop"] = loop_name()
    print(
        f"{players} players ({result['loop']} loop), one buy per {interval:g}s each: "
        f"p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, {result['ops_per_s']} buys/s vs echo "
        f"{result['echo_ops_per_s']}/s (x{result['echo_ratio']})"
    )
    print(
        f"saturated: {result['saturated_buy_ops_per_s']} buys/s, "
        f"{result['saturated_ping_ops_per_s']} pings/s, echo {result['saturated_echo_ops_per_s']}/s"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
