"""Time-limited lots in a running economy, both backends: the websocket balance hides an expired
lot before any sweep, the sweep pushes the change, and serve's expiry job ticks, logs and counts."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from gamepay import Economy, Item, KryptoGOClient, Store
from gamepay.cli.scheduler import describe, scheduler_for
from gamepay.config import Settings
from gamepay.inventory import Inventory
from gamepay.ledger import Ledger
from gamepay.metrics import Metrics
from tests.support.ws_client import open_client

VIP = Item("vip")


async def _expired_lot(store: Store, player: str, key: str) -> None:
    """Grant ``player`` one vip pass for 60 s, an hour ago (expired now, not swept)."""
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    past = Ledger(store, clock=lambda: hour_ago)
    await Inventory(past, clock=lambda: hour_ago).grant(
        player, VIP.id, 1, "old pass", key, duration_s=60
    )


@pytest.fixture
async def economy(db_url: str) -> AsyncIterator[Economy]:
    """A running economy from parts (no KryptoGO calls are made) selling nothing."""
    store = await Store.connect(db_url)
    await store.migrate()
    client = KryptoGOClient(client_id="c", api_key="k", origin="http://localhost")
    found = Economy.from_parts(
        store=store, client=client, token_secret=secrets.token_hex(32), assets=[VIP]
    )
    try:
        async with found:
            yield found
    finally:
        await client.aclose()
        await store.close()


async def test_ws_balance_hides_an_expired_lot_and_the_sweep_pushes(economy: Economy) -> None:
    """An expired, unswept pass is not in the websocket balance; the sweep pushes -1."""
    await _expired_lot(economy.store, "alice", "old")
    await economy.inventory.grant("alice", VIP.id, 1, "new pass", "new", duration_s=86400)
    assert (await economy.ledger.balance("player:alice", VIP.id)).available == 2
    async with economy.serve_websocket() as server:
        port = server.sockets[0].getsockname()[1]
        async with open_client(f"ws://127.0.0.1:{port}", economy.issue_token("alice")) as alice:
            reply = await alice.ok("balance")
            [entry] = [b for b in reply["balances"] if b["asset"] == VIP.id]
            assert entry["available"] == "1"
            report = await economy.inventory.sweep()
            assert report.by_asset == {VIP.id: 1}
            push = await alice.wait_push(
                lambda p: p.get("event") == "balance_changed" and "expir" in str(p["data"])
            )
            assert push["data"]["asset"] == VIP.id
    assert (await economy.ledger.balance("player:alice", VIP.id)).available == 1
    assert (await economy.ledger.verify()).ok


async def _until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds (polling), or fail after 30 s."""
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 (the scheduler exposes counters, not events)
            await asyncio.sleep(0.02)


async def test_the_expiry_job_sweeps_logs_and_counts(
    economy: Economy, caplog: pytest.LogCaptureFixture
) -> None:
    """GAMEPAY_EXPIRY_SWEEP_S on: the job sweeps at start-up, one log line per tick, metrics by
    job; at 0 there is no expiry job."""
    await _expired_lot(economy.store, "bob", "old")
    metrics = Metrics()
    off = Settings(rewards_tick_s=0, reconcile_interval_s=0, expiry_sweep_s=0)
    inventory = economy.inventory
    none = scheduler_for(off, rewards={}, payments=None, inventory=inventory)
    assert none.jobs == ()
    on = Settings(rewards_tick_s=0, reconcile_interval_s=0, expiry_sweep_s=0.05)
    assert scheduler_for(on, rewards={}, payments=None).jobs == ()  # no inventory, no job
    scheduler = scheduler_for(on, rewards={}, payments=None, metrics=metrics, inventory=inventory)
    assert [job.name for job in scheduler.jobs] == ["expiry"]
    assert describe(scheduler, on, ()) == (
        "scheduler: rewards off; reconcile off; expiry every 0.05s; renewal offers off"
    )
    with caplog.at_level(logging.INFO, logger="gamepay.scheduler"):
        scheduler.start()
        try:
            await _until(lambda: scheduler.ticks["expiry"] >= 2)
        finally:
            await scheduler.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "gamepay.scheduler"]
    assert lines[0].startswith("scheduler expiry: 1 lot(s) expired (1 item:vip), 0 skipped")
    assert lines[1].startswith("scheduler expiry: 0 lot(s) expired (nothing moved)")
    assert metrics.value("gamepay_scheduler_runs_total", {"job": "expiry"}) >= 2
    assert metrics.value("gamepay_scheduler_failures_total", {"job": "expiry"}) == 0
    assert (await economy.ledger.balance("player:bob", VIP.id)).available == 0
