"""Two `gamepay serve` processes on one PostgreSQL database pay a closed reward period, once."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from gamepay.sandbox import SandboxConfig
from gamepay.testing import fresh_postgres_database, running_sandbox
from tests.support.rewards import Clock, open_world, reward_transfers, run_statuses
from tests.support.serve_process import serve_env, serving

API_KEY = "sk_serve_scheduler_test_31"
WS_SECRET = "ws-secret-for-the-scheduler-test-0000"


async def test_two_serve_replicas_pay_a_closed_period_once(pg_url: str, tmp_path: Path) -> None:
    """Two `gamepay serve` with the same rewards file and a 0.2 s tick: yesterday's daily
    period is paid by itself, each player once; both replicas tick (their /metrics say so),
    log one line per tick, and stop cleanly."""
    now = datetime.now(UTC)
    yesterday = (now - timedelta(days=1)).date()
    async with fresh_postgres_database(pg_url) as url:
        world = await open_world(url, Clock(now))
        try:
            rewards = tmp_path / "rewards.json"
            program = {
                "name": "daily",
                "asset": world.asset,
                "schedule": "daily",
                "start": yesterday.isoformat(),
                "cashback_bps": 1000,
                "active_bonus": 2,
            }
            rewards.write_text(json.dumps({"programs": [program]}))
            await world.pool("daily", 10**9)
            start = datetime(yesterday.year, yesterday.month, yesterday.day, 1, tzinfo=UTC)
            for i in range(12):
                await world.player(f"p{i}")
                await world.purchase(
                    start + timedelta(minutes=i), f"p{i}:buy", f"p{i}", 100 * (i + 1)
                )
            config = SandboxConfig(api_key=API_KEY)
            async with running_sandbox(config) as sandbox:
                env = serve_env(
                    sandbox,
                    WS_SECRET,
                    database_url=url,
                    rewards_file=str(rewards),
                    rewards_tick_s="0.2",
                    reconcile_interval_s="0",
                    log_format="json",
                )
                async with serving(env) as one, serving(env) as two:
                    replicas = [one, two]
                    async with asyncio.timeout(60):
                        while True:
                            texts = []
                            for replica in replicas:
                                async with httpx.AsyncClient(base_url=replica.http_url) as http:
                                    texts.append((await http.get("/metrics")).text)
                            runs = [_runs_of(text) for text in texts]
                            if all(n >= 3 for n in runs):
                                break
                            await asyncio.sleep(0.2)
                    for text in texts:
                        assert 'gamepay_scheduler_failures_total{job="rewards"} 0.0' in text
                        assert "gamepay_scheduler_next_run_timestamp_seconds" in text
            expected = sorted((f"player:p{i}", 100 * (i + 1) // 10 + 2) for i in range(12))
            from gamepay.rewards import Program

            assert await reward_transfers(world.store, Program(**program)) == expected
            assert await run_statuses(world.store) == [
                "paid"
            ]  # yesterday only: today's period is still open
            assert (await world.ledger.verify()).ok
        finally:
            await world.store.close()
    for err in (replica.stderr for replica in replicas):
        assert "scheduler: rewards every 0.2s (1 program(s)); reconcile off" in err
        ticks = [
            json.loads(row)
            for row in err.splitlines()
            if row.startswith("{") and '"scheduler rewards:' in row
        ]
        assert len(ticks) >= 3
        assert all(tick["level"] == "INFO" for tick in ticks), ticks[:3]


def _runs_of(metrics: str) -> float:
    """The rewards job's run count in a /metrics text (0 before its first run)."""
    found = re.search(r'^gamepay_scheduler_runs_total\{job="rewards"\} (\S+)$', metrics, re.M)
    return 0.0 if found is None else float(found.group(1))
