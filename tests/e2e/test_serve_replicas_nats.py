"""Two `gamepay serve` processes on one PostgreSQL database with GAMEPAY_BUS_URL=nats://...:
a purchase paid through replica A is pushed to the player connected to replica B."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from gamepay.demo.players import PlayerClient
from gamepay.testing import fresh_postgres_database, running_sandbox
from gamepay_ws import issue_token
from tests.support.catalog import write_catalog
from tests.support.nats import private_stream
from tests.support.serve_process import serve_env, serving

WS_SECRET = "ws-secret-for-the-replica-test-00"


@pytest.mark.postgres
@pytest.mark.nats
async def test_two_serve_processes_push_across_nats(
    tmp_path: Path, pg_url: str, nats_url: str
) -> None:
    """Alice holds a connection to each replica and buys on A; the sandbox's callback reaches A;
    the grant reaches her connection on B through NATS JetStream (and the one on A)."""
    catalog = write_catalog(tmp_path / "catalog.json")
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(fresh_postgres_database(pg_url))
        names = await stack.enter_async_context(private_stream(nats_url))
        sandbox = await stack.enter_async_context(running_sandbox())
        env = serve_env(
            sandbox,
            WS_SECRET,
            database_url=db,
            bus_url=f"{nats_url}?stream={names.stream}&subject={names.subject}",
            catalog_file=str(catalog),
        )
        url_a = (await stack.enter_async_context(serving(env))).ws_url
        url_b = (await stack.enter_async_context(serving(env))).ws_url
        token = issue_token("alice", WS_SECRET, 300)
        on_b = await stack.enter_async_context(PlayerClient(url_b, token))
        on_a = await stack.enter_async_context(PlayerClient(url_a, token))
        buy = await on_a.request("buy_with_crypto", sku="sword", request_id="nats-1")
        sandbox.sandbox.pay(buy["payment_intent_id"], "exact")
        assert await on_b.wait_for_push("asset_granted", order_id=buy["order_id"], within=15)
        assert await on_a.wait_for_push("asset_granted", order_id=buy["order_id"], within=15)
