"""What KryptoGOClient costs per call over bare httpx, against the same local HTTP server.

Both sides GET the same intent from a tiny app served by uvicorn on 127.0.0.1 (port 0), one
call after another on one keep-alive connection: the baseline is a bare ``httpx.AsyncClient``
GET plus ``json.loads``; the client adds the envelope check, error mapping, retry plumbing, hooks
and ``PaymentIntent`` parsing (exact amounts). Also a JSON -> PaymentIntent -> JSON round trip in
memory. Usage: ``python bench/kryptogo_client.py [--quick]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gamepay.kryptogo import wire
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.kryptogo.models import PaymentIntent

INTENT: dict[str, Any] = {
    "payment_intent_id": "pi_bench",
    "payment_chain_id": "arb",
    "payment_address": "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045",
    "token_address": "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
    "symbol": "USDT",
    "decimals": 6,
    "crypto_amount": "9.23",
    "fiat_amount": "300.0",
    "fiat_currency": "TWD",
    "payment_deadline": 1733811354,
    "status": "success",
    "payment_tx_hash": "0x" + "ab" * 32,
    "received_amount": "9.23",
    "aggregated_amount": "9.2",
    "refund_amount": None,
    "refund_tx_hash": None,
    "callback_url": "https://game.example/cb",
    "order_data": {"order_id": "ord_1", "item_id": "sword"},
    "group_key": "shop",
    "created_at": 1733810454,
}
ROUNDS = 10
"""Blocks per side; each figure is the median block."""


async def get_intent(request: Request) -> JSONResponse:
    """Answer every id with the same intent."""
    return JSONResponse(wire.ok_body(INTENT))


async def run(calls: int) -> dict[str, Any]:
    """Time both sides against one server; return the figures."""
    app = Starlette(routes=[Route(wire.PATH_GET_INTENT, get_intent, methods=["GET"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    path = wire.intent_path("pi_bench")
    try:
        async with (
            httpx.AsyncClient(base_url=url) as raw,
            KryptoGOClient(
                client_id="c", api_key="k", origin="https://game.example", base_url=url
            ) as client,
        ):
            await raw.get(path)
            await client.get_intent("pi_bench")
            raw_blocks: list[float] = []
            client_blocks: list[float] = []
            block = max(1, calls // ROUNDS)
            for _ in range(ROUNDS):  # interleaved blocks, so load changes hit both sides
                started = time.perf_counter()
                for _ in range(block):
                    json.loads((await raw.get(path)).content)
                raw_blocks.append(time.perf_counter() - started)
                started = time.perf_counter()
                for _ in range(block):
                    await client.get_intent("pi_bench")
                client_blocks.append(time.perf_counter() - started)
            raw_s = statistics.median(raw_blocks) / block * calls
            client_s = statistics.median(client_blocks) / block * calls
    finally:
        server.should_exit = True
        await task
    text = json.dumps(INTENT)
    rounds = calls * 10
    started = time.perf_counter()
    for _ in range(rounds):
        json.loads(text)
    loads_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(rounds):
        json.dumps(PaymentIntent.model_validate_json(text).to_wire())
    model_s = time.perf_counter() - started
    return {
        "bench": "kryptogo_client",
        "calls": calls,
        "raw_httpx_us_per_call": round(raw_s / calls * 1e6, 1),
        "client_us_per_call": round(client_s / calls * 1e6, 1),
        "client_over_raw": round(client_s / raw_s, 3),
        "json_loads_us": round(loads_s / rounds * 1e6, 2),
        "intent_round_trip_us": round(model_s / rounds * 1e6, 2),
        "intent_over_loads": round(model_s / loads_s, 2),
    }


def main() -> None:
    """Parse arguments, run, print a summary and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few calls (smoke test)")
    args = parser.parse_args()
    result = asyncio.run(run(50 if args.quick else 2000))
    print(
        f"GET intent: bare httpx {result['raw_httpx_us_per_call']} us/call, "
        f"KryptoGOClient {result['client_us_per_call']} us/call "
        f"(x{result['client_over_raw']})"
    )
    print(
        f"intent JSON round trip {result['intent_round_trip_us']} us "
        f"(x{result['intent_over_loads']} a bare json.loads)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
