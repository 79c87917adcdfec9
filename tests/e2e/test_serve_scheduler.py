"""Two `gamepay serve` processes on one PostgreSQL database pay a closed reward period, once."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from gamepay.sandbox import SandboxConfig
from gamepay.store.schema.rewards import runs_table
from gamepay.testing import fresh_postgres_database, running_sandbox
from tests.support.rewards import Clock, open_world, reward_transfers

ROOT = Path(__file__).resolve().parents[2]
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
                env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEPAY_")}
                env.update(
                    {
                        "GAMEPAY_DATABASE_URL": url,
                        "GAMEPAY_KRYPTOGO_BASE_URL": sandbox.url,
                        "GAMEPAY_KRYPTOGO_CLIENT_ID": sandbox.client_id,
                        "GAMEPAY_KRYPTOGO_API_KEY": API_KEY,
                        "GAMEPAY_KRYPTOGO_ORIGIN": sandbox.origin,
                        "GAMEPAY_WS_TOKEN_SECRET": WS_SECRET,
                        "GAMEPAY_HTTP_PORT": "0",
                        "GAMEPAY_REWARDS_FILE": str(rewards),
                        "GAMEPAY_REWARDS_TICK_S": "0.2",
                        "GAMEPAY_RECONCILE_INTERVAL_S": "0",
                        "GAMEPAY_LOG_FORMAT": "json",
                        "COLUMNS": "400",
                    }
                )
                procs = [
                    await asyncio.create_subprocess_exec(
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
                    for _ in range(2)
                ]
                errs: list[str] = []
                try:
                    urls = []
                    for proc in procs:
                        assert proc.stdout is not None
                        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
                        found = re.search(r"http (http://\S+) ", line)
                        assert found, line
                        urls.append(found.group(1))
                    async with asyncio.timeout(60):
                        while True:
                            texts = []
                            for base in urls:
                                async with httpx.AsyncClient(base_url=base) as http:
                                    texts.append((await http.get("/metrics")).text)
                            runs = [_runs_of(text) for text in texts]
                            if all(n >= 3 for n in runs):
                                break
                            await asyncio.sleep(0.2)
                    for text in texts:
                        assert 'gamepay_scheduler_failures_total{job="rewards"} 0.0' in text
                        assert "gamepay_scheduler_next_run_timestamp_seconds" in text
                finally:
                    for proc in procs:
                        proc.send_signal(signal.SIGTERM)
                    for proc in procs:
                        _, err = await asyncio.wait_for(proc.communicate(), 30)
                        errs.append(err.decode())
                for proc, err in zip(procs, errs, strict=True):
                    assert proc.returncode == 0, err[-2000:]
            expected = sorted((f"player:p{i}", 100 * (i + 1) // 10 + 2) for i in range(12))
            from gamepay.rewards import Program

            assert await reward_transfers(world.store, Program(**program)) == expected
            async with world.store.engine.connect() as conn:
                statuses = (await conn.execute(sa.select(runs_table.c.status))).scalars().all()
            assert statuses == ["paid"]  # yesterday only: today's period is still open
            assert (await world.ledger.verify()).ok
        finally:
            await world.store.close()
    for err in errs:
        assert "scheduler: rewards every 0.2s (1 program(s)); reconcile off" in err
        ticks = [
            json.loads(row)
            for row in err.splitlines()
            if row.startswith("{") and '"scheduler rewards:' in row
        ]
        assert len(ticks) >= 3
        assert all(tick["level"] == "INFO" for tick in ticks), ticks[:3]


def _runs_of(metrics: str) -> float:
    found = re.search(r'^gamepay_scheduler_runs_total\{job="rewards"\} (\S+)$', metrics, re.M)
    return 0.0 if found is None else float(found.group(1))
