"""CLI output: amounts are never cut at the terminal's width, and every --json is one line."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gamepay import Token
from gamepay.cli.demo import explore_command
from gamepay.cli.main import app
from gamepay.core.accounts import AccountKind, player_account, world_account
from gamepay.core.money import MAX_AMOUNT, format_amount
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.testing import sqlite_url

WEI = Token("eth", "0x6B175474E89094C44Da98b954EedAc495271d0F", "DAI", 18)
WHOLE = format_amount(MAX_AMOUNT, 18)  # 78 digits and a decimal point


def invoke(url: str, *args: str, columns: int = 80) -> tuple[int, str]:
    """Run the CLI against ``url`` at a terminal width of ``columns``; (exit code, stdout)."""
    result = CliRunner().invoke(
        app,
        ["--env-file", os.devnull, *args],
        env={"GAMEPAY_DATABASE_URL": url, "GAMEPAY_LOG_LEVEL": "ERROR", "COLUMNS": str(columns)},
    )
    return result.exit_code, result.stdout


async def _richest_player(url: str) -> None:
    store = await Store.connect(url)
    try:
        await store.migrate()
        ledger = Ledger(store)
        await ledger.register_asset(WEI)
        world = world_account("eth")
        await ledger.open_account(world, kind=AccountKind.SYSTEM, allow_negative=True)
        await ledger.open_account(player_account("whale"))
        spec = TransferSpec(
            world, player_account("whale"), WEI.id, MAX_AMOUNT, TransferKind.DEPOSIT
        )
        await ledger.transfer("dep-max", spec)
    finally:
        await store.close()


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A migrated SQLite file where player ``whale`` holds 2**256-1 wei of an 18-decimal token."""
    db = sqlite_url(tmp_path / "out.db")
    asyncio.run(_richest_player(db))
    return db


def _column(table: str, header: str) -> str:
    """The text of one column of a rich table with one data row, folded lines joined."""
    lines = [line for line in table.splitlines() if line.startswith(("│", "┃"))]
    head = [cell.strip() for cell in lines[0].strip("│┃").split("┃" if "┃" in lines[0] else "│")]
    index = head.index(header)
    cells = [line.strip("│┃").split("│")[index].strip() for line in lines[1:]]
    return "".join(cells)


@pytest.mark.parametrize("columns", [60, 80, 200])
def test_balance_shows_the_largest_amount_whole(url: str, columns: int) -> None:
    """2**256-1 base units with 18 decimals fold inside their column but are never cut."""
    code, out = invoke(url, "balance", "whale", columns=columns)
    assert code == 0, out
    assert "…" not in out
    assert _column(out, "available") == WHOLE
    assert max(len(line) for line in out.splitlines()) <= columns


def test_history_shows_the_largest_change_whole(url: str) -> None:
    """The history table of an 80-column terminal folds the change instead of cutting it."""
    code, out = invoke(url, "history", "whale")
    assert code == 0, out
    assert "…" not in out
    assert _column(out, "change") == WHOLE


@pytest.mark.parametrize(
    "args",
    [
        ("balance", "whale", "--json"),
        ("history", "whale", "--json"),
        ("config", "--json"),
        ("db", "current", "--json"),
        ("db", "check", "--json"),
        ("verify", "--json"),
        ("intents", "list", "--json"),
        ("withdrawals", "list", "--json"),
        ("balance", "nobody", "--json"),
    ],
)
def test_every_json_is_exactly_one_line(url: str, args: tuple[str, ...]) -> None:
    """--json prints one line of JSON on stdout (an error too), whatever the width; exact
    amounts survive."""
    code, out = invoke(url, *args, columns=40)
    lines = out.splitlines()
    assert len(lines) == 1, out
    data = json.loads(lines[0])
    if args[0] == "balance" and code == 0:
        assert data["balances"][0]["available"] == WHOLE
        assert data["balances"][0]["available_units"] == str(MAX_AMOUNT)


def test_explore_command_is_one_runnable_line(tmp_path: Path) -> None:
    """The demo's hint names this venv's gamepay (relative under cwd), quotes every word and
    has no newline, whatever the path's length or spaces."""
    deep = tmp_path / ("a very long directory name " * 4).strip() / "demo.db"
    line = explore_command(sqlite_url(deep), cwd=tmp_path)
    assert "\n" not in line
    words = shlex.split(line)
    assert words[0] == f"GAMEPAY_DATABASE_URL=sqlite:///{deep.relative_to(tmp_path)}"
    assert words[-2:] == ["balance", "player-001"]
    script = Path(sys.executable).parent / "gamepay"
    if script.exists():
        assert words[1] == str(script.absolute())  # not under cwd: absolute
        venv_home = script.absolute().parents[2]
        near = shlex.split(explore_command(sqlite_url(deep), cwd=venv_home))
        assert near[1] == str(script.absolute().relative_to(venv_home))  # .venv/bin/gamepay
    else:
        assert words[1:4] == [sys.executable, "-m", "gamepay.cli.main"]
