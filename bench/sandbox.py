"""What the sandbox costs per call over a bare Starlette app, on the same uvicorn setup.

Baseline: a Starlette app answering a constant intent envelope, served by the same
``serve_asgi`` (uvicorn, 127.0.0.1, port 0, TCP_NODELAY) and called by the same keep-alive
``httpx.AsyncClient``. Measured: the sandbox's GET intent (auth, sweep, wire form), create intent
(validation, quote, derived address), and callback delivery (the sandbox's worker POSTing to a
recorder) against a bare httpx POST loop to the same recorder. Interleaved blocks, median block.
Usage: ``python bench/sandbox.py [--quick]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gamepay.kryptogo import wire
from gamepay.sandbox import Sandbox, SandboxConfig
from gamepay.sandbox.server import serve_asgi
from gamepay.testing import callback_recorder, running_sandbox

ROUNDS = 10
"""Blocks per side; each figure is the median block."""


async def timed_blocks(
    calls: int, sides: dict[str, Callable[[], Awaitable[Any]]]
) -> dict[str, float]:
    """Seconds per call for each side, from interleaved blocks (median block)."""
    block = max(1, calls // ROUNDS)
    blocks: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(ROUNDS):
        for name, call in sides.items():
            started = time.perf_counter()
            for _ in range(block):
                await call()
            blocks[name].append(time.perf_counter() - started)
    return {name: statistics.median(times) / block for name, times in blocks.items()}


async def run(calls: int) -> dict[str, Any]:
    """Time the sandbox and the baseline; return the figures."""
    config = SandboxConfig(seed=1, frozen_clock=True)
    async with running_sandbox(config) as served:
        intent = served.sandbox.create_intent(fiat_amount="300.0", fiat_currency="TWD")
        frozen = intent.to_wire()

        async def constant(request: Request) -> JSONResponse:
            return JSONResponse(wire.ok_body(frozen))

        bare = Starlette(
            routes=[
                Route(wire.PATH_GET_INTENT, constant, methods=["GET"]),
                Route(wire.PATH_CREATE_INTENT, constant, methods=["POST"]),
            ]
        )
        body = {"fiat_amount": "300.0", "fiat_currency": "TWD", "order_data": {"order_id": "o"}}
        path = wire.intent_path(intent.payment_intent_id)
        async with (
            serve_asgi(bare) as (bare_url, _stop),
            httpx.AsyncClient(base_url=bare_url, headers=served.headers()) as base,
            httpx.AsyncClient(base_url=served.url, headers=served.headers()) as client,
        ):
            await base.get(path)
            await client.get(path)
            gets = await timed_blocks(
                calls, {"bare": lambda: base.get(path), "sandbox": lambda: client.get(path)}
            )
            creates = await timed_blocks(
                calls,
                {
                    "bare": lambda: base.post(wire.PATH_CREATE_INTENT, json=body),
                    "sandbox": lambda: client.post(wire.PATH_CREATE_INTENT, json=body),
                },
            )

    sandbox = Sandbox(SandboxConfig(seed=2, frozen_clock=True))
    async with callback_recorder() as recorder, sandbox, httpx.AsyncClient() as poster:
        ids = [
            sandbox.create_intent(
                fiat_amount="1", fiat_currency="USD", callback_url=recorder.url
            ).payment_intent_id
            for _ in range(calls)
        ]
        payload = json.dumps(sandbox.intent(ids[0]).to_wire()).encode()
        started = time.perf_counter()
        for _ in range(calls):
            await poster.post(recorder.url, content=payload)
        raw_post_s = (time.perf_counter() - started) / calls
        started = time.perf_counter()
        for intent_id in ids:
            sandbox.pay(intent_id, "exact")
        await sandbox.flush_callbacks(within=600)
        callback_s = (time.perf_counter() - started) / calls
        assert len(recorder.accepted()) == 2 * calls  # the raw posts, then the callbacks

    return {
        "bench": "sandbox",
        "calls": calls,
        "bare_get_us": round(gets["bare"] * 1e6, 1),
        "sandbox_get_us": round(gets["sandbox"] * 1e6, 1),
        "get_over_bare": round(gets["sandbox"] / gets["bare"], 3),
        "bare_create_us": round(creates["bare"] * 1e6, 1),
        "sandbox_create_us": round(creates["sandbox"] * 1e6, 1),
        "create_over_bare": round(creates["sandbox"] / creates["bare"], 3),
        "raw_post_us": round(raw_post_s * 1e6, 1),
        "callback_us": round(callback_s * 1e6, 1),
        "callback_over_raw_post": round(callback_s / raw_post_s, 3),
    }


def main() -> None:
    """Parse arguments, run, print a table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few calls (smoke test)")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    calls = 40 if args.quick else args.calls
    result = asyncio.run(run(calls))
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
