"""Websocket adapter benchmark: N concurrent players buying items with their balance over real
sockets, beside a bare ``websockets`` echo server measured in the same run.

    python bench/ws.py --quick          # 100 players, < 60 s
    python bench/ws.py                  # 1,000 players
    python bench/ws.py --db postgresql://postgres@127.0.0.1:5432/bench_ws

Everything runs in one process and one event loop (the server, the echo server and every
client), so the two servers are measured under the same client overhead. Two loads:

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
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from examples.shop.server import running_shop
from gamepay.testing import sqlite_url
from gamepay_ws import AdapterConfig

PRICE = 60  # potion: 60 gold
FRAME = json.dumps({"type": "buy_with_balance", "id": 123456, "sku": "potion"})


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


async def _reply(ws: ClientConnection, request_id: int) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await ws.recv())
        if message.get("id") == request_id:
            return message


Op = Callable[[ClientConnection, int], Awaitable[None]]


async def _buy(ws: ClientConnection, n: int) -> None:
    await ws.send(json.dumps({"type": "buy_with_balance", "id": n, "sku": "potion"}))
    reply = await _reply(ws, n)
    if reply["type"] != "buy_with_balance_result":
        raise RuntimeError(f"buy failed: {reply}")


async def _ping(ws: ClientConnection, n: int) -> None:
    await ws.send(json.dumps({"type": "ping", "id": n}))
    await _reply(ws, n)


async def _echo_op(ws: ClientConnection, n: int) -> None:
    await ws.send(FRAME)
    await ws.recv()


async def _run(
    conns: list[ClientConnection], op: Op, duration: float, interval: float | None, seed: int
) -> tuple[list[float], float]:
    """Run ``op`` on every connection for ``duration`` s; paced (mean gap) or back to back."""
    latencies: list[float] = []
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


async def bench(players: int, duration: float, interval: float, db: str | None) -> dict[str, Any]:
    """Set up the shop and the echo server, run both loads, return the figures."""
    config = AdapterConfig(rate_burst=10_000, rate_per_second=10_000, outbox_size=100_000)
    with tempfile.TemporaryDirectory(prefix="gamepay-bench-ws-") as tmp:
        url = db or sqlite_url(Path(tmp) / "bench.db")
        async with (
            running_shop(url, adapter_config=config) as shop,
            serve(_echo, "127.0.0.1", 0, compression=None) as echo_server,
        ):
            echo_url = f"ws://127.0.0.1:{echo_server.sockets[0].getsockname()[1]}"
            names = [f"bench-{i}" for i in range(players)]
            buys_per_player = int(duration / interval * 3 + duration * 400 / players + 20)
            t0 = time.perf_counter()
            for name in names:
                await shop.give_gold(name, PRICE * buys_per_player)
            setup_s = time.perf_counter() - t0
            ours = await _connect_all(shop.ws_url, players)
            for i, (ws, name) in enumerate(zip(ours, names, strict=True)):
                await ws.send(
                    json.dumps({"type": "authenticate", "id": 0, "token": shop.token(name)})
                )
                reply = await _reply(ws, 0)
                assert reply["type"] == "authenticate_result", (i, reply)
            echoes = await _connect_all(echo_url, players)
            try:
                paced, paced_s = await _run(ours, _buy, duration, interval, 1)
                echo_paced, echo_paced_s = await _run(echoes, _echo_op, duration, interval, 1)
                short = max(2.0, duration / 3)
                sat_buy, sat_buy_s = await _run(ours, _buy, short, None, 2)
                sat_ping, sat_ping_s = await _run(ours, _ping, short, None, 3)
                sat_echo, sat_echo_s = await _run(echoes, _echo_op, short, None, 4)
            finally:
                await asyncio.gather(*(ws.close() for ws in ours + echoes))
            verified = (await shop.payments.ledger.verify()).ok
    ops = len(paced) / paced_s
    echo_ops = len(echo_paced) / echo_paced_s
    sat_buy_ops = len(sat_buy) / sat_buy_s
    sat_ping_ops = len(sat_ping) / sat_ping_s
    sat_echo_ops = len(sat_echo) / sat_echo_s
    return {
        "players": players,
        "backend": "postgresql" if db and db.startswith("postgres") else "sqlite",
        "interval_s": interval,
        "duration_s": duration,
        "buys": len(paced),
        "p50_ms": round(statistics.median(paced), 2),
        "p99_ms": round(_percentile(paced, 0.99), 2),
        "ops_per_s": round(ops, 1),
        "echo_ops_per_s": round(echo_ops, 1),
        "echo_p99_ms": round(_percentile(echo_paced, 0.99), 2),
        "echo_ratio": round(ops / echo_ops, 3),
        "saturated_buy_ops_per_s": round(sat_buy_ops, 1),
        "saturated_buy_p99_ms": round(_percentile(sat_buy, 0.99), 2),
        "saturated_ping_ops_per_s": round(sat_ping_ops, 1),
        "saturated_echo_ops_per_s": round(sat_echo_ops, 1),
        "saturated_buy_echo_ratio": round(sat_buy_ops / sat_echo_ops, 3),
        "saturated_ping_echo_ratio": round(sat_ping_ops / sat_echo_ops, 3),
        "setup_s": round(setup_s, 1),
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
    args = parser.parse_args()
    players = args.players or (100 if args.quick else 1000)
    duration = args.duration or (6.0 if args.quick else 20.0)
    interval = args.interval or (2.0 if args.quick else 10.0)
    result = asyncio.run(bench(players, duration, interval, args.db))
    print(
        f"{players} players, one buy per {interval:g}s each: p50 {result['p50_ms']} ms, "
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
