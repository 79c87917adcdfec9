"""Two `gamepay serve` processes on one PostgreSQL database with GAMEPAY_BUS_URL=nats://...:
a purchase paid through replica A is pushed to the player connected to replica B."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

from gamepay.demo.players import PlayerClient
from gamepay.payments import Catalog, CatalogItem, Grant
from gamepay.testing import fresh_postgres_database, running_sandbox
from gamepay_ws import issue_token
from tests.support.nats import private_stream

ROOT = Path(__file__).resolve().parents[2]
WS_SECRET = "ws-secret-for-the-replica-test-00"


@asynccontextmanager
async def serving(env: dict[str, str]) -> AsyncIterator[str]:
    """A `gamepay serve` process; yields its websocket URL; SIGTERM (exit 0) at the end."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gamepay.cli.main",
        "--env-file",
        os.devnull,
        "serve",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        ws_url = re.search(r"websocket (ws://\S+?),", line)
        assert ws_url, line
        yield ws_url.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()[-2000:]


@pytest.mark.postgres
@pytest.mark.nats
async def test_two_serve_processes_push_across_nats(
    tmp_path: Path, pg_url: str, nats_url: str
) -> None:
    """Alice holds a connection to each replica and buys on A; the sandbox's callback reaches A;
    the grant reaches her connection on B through NATS JetStream (and the one on A)."""
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        Catalog(
            items=(
                CatalogItem(
                    sku="sword",
                    title="Iron sword",
                    price="300",
                    currency="TWD",
                    grant=Grant(kind="item", code="sword", amount=1),
                ),
            )
        ).model_dump_json()
    )
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(fresh_postgres_database(pg_url))
        names = await stack.enter_async_context(private_stream(nats_url))
        sandbox = await stack.enter_async_context(running_sandbox())
        env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEPAY_")}
        env.update(
            {
                "GAMEPAY_DATABASE_URL": db,
                "GAMEPAY_BUS_URL": f"{nats_url}?stream={names.stream}&subject={names.subject}",
                "GAMEPAY_KRYPTOGO_BASE_URL": sandbox.url,
                "GAMEPAY_KRYPTOGO_CLIENT_ID": sandbox.client_id,
                "GAMEPAY_KRYPTOGO_API_KEY": sandbox.api_key,
                "GAMEPAY_KRYPTOGO_ORIGIN": sandbox.origin,
                "GAMEPAY_WS_TOKEN_SECRET": WS_SECRET,
                "GAMEPAY_CATALOG_FILE": str(catalog),
                "GAMEPAY_HTTP_PORT": "0",
                "COLUMNS": "400",
            }
        )
        url_a = await stack.enter_async_context(serving(env))
        url_b = await stack.enter_async_context(serving(env))
        token = issue_token("alice", WS_SECRET, 300)
        on_b = await stack.enter_async_context(PlayerClient(url_b, token))
        on_a = await stack.enter_async_context(PlayerClient(url_a, token))
        buy = await on_a.request("buy_with_crypto", sku="sword", request_id="nats-1")
        sandbox.sandbox.pay(buy["payment_intent_id"], "exact")
        assert await on_b.wait_for_push("asset_granted", order_id=buy["order_id"], within=15)
        assert await on_a.wait_for_push("asset_granted", order_id=buy["order_id"], within=15)
