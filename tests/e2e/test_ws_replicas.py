"""Several game-server replicas: a callback handled by replica A reaches the player on replica B.

On PostgreSQL each replica has its own Store (pool) and its own PostgresBus connection, so the
push can only travel through LISTEN/NOTIFY and the events outbox. On SQLite two replicas in one
process share an InProcessBus.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from examples.shop.server import Shop, running_shop
from gamepay.bus import InProcessBus, PostgresBus
from gamepay.testing import fresh_postgres_database, running_sandbox, sqlite_url
from tests.support.ws_client import open_client


async def _cross_replica_purchase(a: Shop, b: Shop) -> None:
    """Alice is connected to B only; she buys through A, pays, and A receives the callback."""
    async with (
        open_client(b.ws_url, b.token("alice")) as on_b,
        open_client(a.ws_url, a.token("alice")) as on_a,
        open_client(b.ws_url, b.token("bob")) as bob_on_b,
    ):
        instructions = await on_a.ok("buy_with_crypto", sku="sword")
        assert instructions["order_id"]
        a.sandbox.sandbox.pay(instructions["payment_intent_id"], "exact")
        granted = await on_b.wait_push(
            lambda p: (
                p.get("event") == "asset_granted"
                and p["data"]["order_id"] == instructions["order_id"]
            )
        )
        assert granted["data"]["asset"] == "item:sword"
        success = await on_b.wait_push(
            lambda p: p.get("event") == "order_status_changed" and p["data"]["status"] == "success"
        )
        assert success["event_id"] > 0
        balances = await on_b.ok("balance")
        assert {"asset": "item:sword", "available": "1"}.items() <= next(
            b for b in balances["balances"] if b["asset"] == "item:sword"
        ).items()
        # the callback went to A (its own callback URL), never to B
        assert a.adapter.connections_of("alice") == 1
        assert b.adapter.connections_of("alice") == 1
        await bob_on_b.ok("ping")
        assert bob_on_b.events() == []
        ids = [p["event_id"] for p in on_b.events()]
        assert len(ids) == len(set(ids))


@pytest.mark.postgres
async def test_postgres_replicas_push_through_listen_notify(pg_url: str) -> None:
    """Two replicas with separate pools and bus connections on one PostgreSQL database."""
    secret = secrets.token_hex(32)
    async with (
        fresh_postgres_database(pg_url) as url,
        running_sandbox() as sandbox,
        running_shop(url, sandbox=sandbox, secret=secret) as a,
        running_shop(url, sandbox=sandbox, secret=secret) as b,
    ):
        assert isinstance(a.adapter.bus, PostgresBus)
        assert isinstance(b.adapter.bus, PostgresBus)
        assert a.adapter.bus is not b.adapter.bus
        assert a.store is not b.store
        await _cross_replica_purchase(a, b)


async def test_sqlite_replicas_in_one_process_share_an_in_process_bus(tmp_path: Path) -> None:
    """Two adapters over one SQLite file, one InProcessBus: pushes cross between them."""
    secret = secrets.token_hex(32)
    bus = InProcessBus()
    url = sqlite_url(tmp_path / "shop.db")
    async with (
        running_sandbox() as sandbox,
        running_shop(url, sandbox=sandbox, secret=secret, bus=bus) as a,
        running_shop(url, sandbox=sandbox, secret=secret, bus=bus) as b,
    ):
        await _cross_replica_purchase(a, b)
