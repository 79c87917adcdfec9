"""bench/push_probe.py measures pushes between two real replicas: none lost, none doubled."""

from __future__ import annotations

import secrets

import pytest

from bench.push_probe import percentile, probe_pushes
from examples.shop.server import running_shop
from gamepay.testing import fresh_postgres_database, running_sandbox


def test_percentile_by_nearest_rank() -> None:
    """p50 and p99 of 1..100 are 50 and 99; no values give 0."""
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([], 0.99) == 0.0


@pytest.mark.postgres
async def test_probe_between_two_postgres_replicas(pg_url: str) -> None:
    """Players buy on A and listen on B: every event pushed on A reaches B once."""
    secret = secrets.token_hex(32)
    players = ["probe-1", "probe-2", "probe-3"]
    async with (
        fresh_postgres_database(pg_url) as url,
        running_sandbox() as sandbox,
        running_shop(url, sandbox=sandbox, secret=secret) as a,
        running_shop(url, sandbox=sandbox, secret=secret) as b,
    ):
        for player in players:
            await a.give_gold(player)
        report = await probe_pushes(
            a.ws_url, b.ws_url, [a.token(p) for p in players], sku="potion", buys_per_player=4
        )
    assert report.buys == 12
    assert report.failed_buys == 0
    assert report.events >= 12  # at least one event per buy
    assert report.received == report.events
    assert report.lost == 0
    assert report.duplicates == 0
    assert len(report.delays_ms) == report.received  # every event timed from its buy
    assert 0 < report.push_p50_ms <= report.push_p99_ms <= report.push_max_ms
    assert report.as_fields("postgres")["lost_pushes_postgres"] == 0
