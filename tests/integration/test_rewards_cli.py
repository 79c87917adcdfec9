"""`gamepay rewards preview|run` through typer's CliRunner against a real SQLite file."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from gamepay.cli.main import app
from gamepay.testing import sqlite_url
from tests.support.rewards import open_world, program_for, reward_transfers, within

NOV = date(2026, 11, 1)
PROGRAM_TOML = """\
name = "cli"
asset = "currency:gold"
schedule = "monthly"
timezone = "Europe/Berlin"
start = 2026-11-01
cashback_bps = 1000
active_bonus = 2
"""


def _seed(url: str, pool: int) -> None:
    async def go() -> None:
        world = await open_world(url)
        try:
            program = program_for("cli", world.asset)
            await world.pool("cli", pool)
            for i in range(3):
                await world.player(f"c{i}")
                await world.purchase(within(program, NOV)(100 + i), f"c{i}", f"c{i}", 100 * (i + 1))
        finally:
            await world.store.close()

    asyncio.run(go())


def _paid(url: str) -> list[tuple[str, int]]:
    async def go() -> list[tuple[str, int]]:
        world = await open_world(url)
        try:
            return await reward_transfers(world.store, program_for("cli", world.asset))
        finally:
            await world.store.close()

    return asyncio.run(go())


def test_preview_then_run_then_nothing_due(tmp_path: Path) -> None:
    """Preview (JSON, CSV) writes nothing; run pays and prints a table; a rerun has nothing due."""
    url = sqlite_url(tmp_path / "cli.db")
    _seed(url, pool=10**6)
    (tmp_path / "p.toml").write_text(PROGRAM_TOML)
    runner = CliRunner()
    args = ["rewards", "preview", "--program", str(tmp_path / "p.toml"), "--period", "2026-11-15"]
    result = runner.invoke(app, [*args, "--db", url, "--json", "--out", str(tmp_path / "p.json")])
    assert result.exit_code == 0, result.output
    (line,) = (tmp_path / "p.json").read_text().splitlines()  # one line, however many payouts
    data = json.loads(line)
    assert [(p["player_id"], p["amount"]) for p in data["payouts"]] == [
        ("c0", "12"),
        ("c1", "22"),
        ("c2", "32"),
    ]
    assert data["totals"]["total"] == "66"
    assert data["period"] == "2026-11-01"
    result = runner.invoke(app, [*args, "--csv"], env={"GAMEPAY_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["player_id", "amount", "purchases", "refunds", "active"]
    assert rows[1:] == [
        ["c0", "12", "100", "0", "1"],
        ["c1", "22", "200", "0", "1"],
        ["c2", "32", "300", "0", "1"],
    ]
    assert _paid(url) == []

    run = ["rewards", "run", "--program", str(tmp_path / "p.toml"), "--db", url]
    result = runner.invoke(
        app, [*run, "--period", "2026-11-01", "--now", "2026-11-20T00:00:00+00:00"]
    )
    assert result.exit_code == 2
    assert "period_not_closed" in result.output
    result = runner.invoke(app, [*run, "--due", "--now", "2026-12-03T00:00:00+00:00", "--json"])
    assert result.exit_code == 0, result.output
    assert "reward runs" in result.stderr  # the table; stdout is exactly the JSON line
    (line,) = result.stdout.splitlines()
    assert [report["period"] for report in json.loads(line)] == ["2026-11-01"]
    assert _paid(url) == [("player:c0", 12), ("player:c1", 22), ("player:c2", 32)]
    result = runner.invoke(app, [*run, "--due", "--now", "2026-12-03T00:00:00+00:00"])
    assert result.exit_code == 0, result.output
    assert "nothing due" in result.stdout
    assert len(_paid(url)) == 3


def test_run_with_an_underfunded_pool_exits_1_and_resumes(tmp_path: Path) -> None:
    """An underfunded pool: exit code 1 with the paid/unpaid table; after funding it completes."""
    url = sqlite_url(tmp_path / "cli.db")
    _seed(url, pool=30)
    (tmp_path / "p.toml").write_text(PROGRAM_TOML)
    runner = CliRunner()
    run = [
        "rewards",
        "run",
        "--program",
        str(tmp_path / "p.toml"),
        "--db",
        url,
        "--period",
        "2026-11-02",
        "--now",
        "2026-12-01T00:00:00+01:00",
    ]
    result = runner.invoke(app, run)
    assert result.exit_code == 1, result.output
    assert "pool_underfunded" in result.output
    assert _paid(url) == [("player:c0", 12)]

    async def fund() -> None:
        world = await open_world(url)
        try:
            await world.pool("cli", 1000)
        finally:
            await world.store.close()

    asyncio.run(fund())
    result = runner.invoke(app, run)
    assert result.exit_code == 0, result.output
    assert _paid(url) == [("player:c0", 12), ("player:c1", 22), ("player:c2", 32)]


def test_bad_program_file_is_a_clean_error(tmp_path: Path) -> None:
    """A program with a float rate is refused with exit code 2 and the error code."""
    (tmp_path / "bad.json").write_text(
        '{"name": "x", "asset": "currency:g", "start": "2026-11-01", "cashback_bps": 1.5}'
    )
    result = CliRunner().invoke(
        app,
        [
            "rewards",
            "preview",
            "--program",
            str(tmp_path / "bad.json"),
            "--period",
            "2026-11-01",
            "--db",
            sqlite_url(tmp_path / "x.db"),
        ],
    )
    assert result.exit_code == 2
    assert "invalid_config" in result.output
