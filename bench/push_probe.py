"""Push latency and lost pushes between two game-server replicas, measured from the players' side.

Each player holds one websocket to replica A, where it buys with its balance, and one to
replica B. A's own bus delivers the buy's events to the connection on A (no other replica
involved, so A's pushes are the list of what must arrive); the same events reach the connection
on B only through the cross-replica bus (PostgreSQL ``LISTEN/NOTIFY`` or NATS JetStream):

- ``push_p50_ms`` / ``push_p99_ms``: from the buy request sent on A to each of its events
  received on B (the buy itself, its commit, then the bus; A holds its own pushes until the
  reply is sent, so A's arrival times are no reference);
- ``lost``: events pushed on A that never reached B within ``wait_s`` seconds after the last buy;
- ``duplicates``: event ids pushed twice to one connection (the protocol promises once).

Connections authenticate without ``last_event_id`` (live pushes only), so a replay cannot hide a
lost push. ``bench/scale.py`` imports :func:`probe_pushes` once per bus; run alone against two
running replicas (players must already hold the price of ``--sku``)::

    python bench/push_probe.py --a ws://127.0.0.1:8765 --b ws://127.0.0.1:8766 \\
        --secret "$GAMEPAY_WS_TOKEN_SECRET" --players p1,p2,p3 --sku sword --buys 20

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

__all__ = ["PushReport", "percentile", "probe_pushes"]


@dataclass
class PushReport:
    """What one probe measured (``as_fields(bus)`` names them for a benchmark's JSON line)."""

    buys: int = 0
    failed_buys: int = 0
    events: int = 0
    received: int = 0
    lost: int = 0
    duplicates: int = 0
    push_p50_ms: float = 0.0
    push_p99_ms: float = 0.0
    push_max_ms: float = 0.0
    delays_ms: list[float] = field(default_factory=list, repr=False)

    def as_fields(self, bus: str) -> dict[str, Any]:
        """``push_p99_ms_<bus>``, ``lost_pushes_<bus>``, ... for a benchmark's JSON line."""
        return {
            f"push_p50_ms_{bus}": self.push_p50_ms,
            f"push_p99_ms_{bus}": self.push_p99_ms,
            f"lost_pushes_{bus}": self.lost,
            f"duplicate_pushes_{bus}": self.duplicates,
            f"pushes_{bus}": self.events,
        }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank; 0.0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class _Side:
    """One connection's pushes: first arrival time per event id, and duplicates."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.arrived: dict[int, float] = {}
        self.orders: dict[int, str] = {}
        self.duplicates = 0
        self.replies: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                message = json.loads(raw)
                if message.get("type") == "event":
                    event_id = int(message["event_id"])
                    if event_id in self.arrived:
                        self.duplicates += 1
                    else:
                        self.arrived[event_id] = now
                        self.orders[event_id] = str((message.get("data") or {}).get("order_id"))
                    continue
                waiter = self.replies.pop(message.get("id", -1), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(message)
        except ConnectionClosed:
            pass

    async def request(self, frame_id: int, type_: str, **fields: Any) -> dict[str, Any]:
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[frame_id] = waiter
        await self.ws.send(json.dumps({"type": type_, "id": frame_id, **fields}))
        return await asyncio.wait_for(waiter, timeout=30)


async def _open(url: str, token: str) -> _Side:
    ws = await connect(url, max_size=2**22, compression=None, open_timeout=30)
    await ws.send(json.dumps({"type": "authenticate", "id": 0, "token": token}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
    if reply.get("type") != "authenticate_result":
        await ws.close()
        raise RuntimeError(f"authentication refused: {reply}")
    return _Side(ws)


async def probe_pushes(
    url_a: str,
    url_b: str,
    tokens: Sequence[str],
    *,
    sku: str,
    buys_per_player: int = 10,
    interval: float = 0.05,
    wait_s: float = 10.0,
) -> PushReport:
    """Each token's player buys ``sku`` ``buys_per_player`` times on replica ``url_a`` (one
    buy every ``interval`` seconds, players concurrently) while connected to ``url_b`` too;
    returns the push delays and losses from A to B (see the module docstring)."""
    pairs = [(await _open(url_a, t), await _open(url_b, t)) for t in tokens]
    readers = [asyncio.create_task(side.read()) for pair in pairs for side in pair]
    report = PushReport()
    sent_at: dict[str, float] = {}  # order id -> when its buy request was sent
    run = secrets.token_hex(4)  # fresh idempotency keys: a replayed buy pushes nothing new
    try:

        async def player(index: int, a: _Side) -> None:
            for n in range(buys_per_player):
                started = time.perf_counter()
                reply = await a.request(
                    n + 1, "buy_with_balance", sku=sku, request_id=f"probe-{run}-{index}-{n}"
                )
                report.buys += 1
                if reply.get("type") != "buy_with_balance_result":
                    report.failed_buys += 1
                else:
                    sent_at[str(reply["order_id"])] = started
                await asyncio.sleep(interval)

        await asyncio.gather(*(player(i, a) for i, (a, _b) in enumerate(pairs)))
        deadline = time.perf_counter() + wait_s
        while time.perf_counter() < deadline:
            if all(set(a.arrived) <= set(b.arrived) for a, b in pairs):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # late duplicates
    finally:
        for pair in pairs:
            for side in pair:
                await side.ws.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    for a, b in pairs:
        report.events += len(a.arrived)
        report.received += len(set(a.arrived) & set(b.arrived))
        report.lost += len(set(a.arrived) - set(b.arrived))
        report.duplicates += a.duplicates + b.duplicates
        report.delays_ms += [
            (b.arrived[i] - sent_at[b.orders[i]]) * 1000
            for i in a.arrived
            if i in b.arrived and b.orders[i] in sent_at
        ]
    report.push_p50_ms = round(percentile(report.delays_ms, 0.50), 2)
    report.push_p99_ms = round(percentile(report.delays_ms, 0.99), 2)
    report.push_max_ms = round(max(report.delays_ms, default=0.0), 2)
    return report


def main() -> None:
    """Probe two running replicas from the command line; print the report as JSON."""
    from gamepay_ws.auth import issue_token

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a", required=True, help="websocket URL of the replica players buy on")
    parser.add_argument("--b", required=True, help="websocket URL of the other replica")
    parser.add_argument("--secret", required=True, help="the replicas' websocket token secret")
    parser.add_argument("--players", required=True, help="comma-separated player ids")
    parser.add_argument("--sku", required=True)
    parser.add_argument("--buys", type=int, default=10, help="buys per player")
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    tokens = [issue_token(p, args.secret, 3600) for p in args.players.split(",") if p]
    report = asyncio.run(
        probe_pushes(
            args.a, args.b, tokens, sku=args.sku, buys_per_player=args.buys, interval=args.interval
        )
    )
    result = asdict(report)
    del result["delays_ms"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
