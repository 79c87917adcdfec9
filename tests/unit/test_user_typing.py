"""A game server written against ``gamepay.Economy`` is ``mypy --strict`` clean, and mistakes in
it are caught: the public surface carries real types, not ``Any``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USER_CODE = '''\
"""A user's game server, typed against gamepay's public surface only."""

from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from gamepay import Catalog, Currency, Economy, KryptoGOClient, Store, Withdrawal
from gamepay.config import load_settings
from gamepay.rewards import RewardRunner

economy = Economy.from_settings(load_settings(), Catalog(), poll_interval=2.0)
routes: list[BaseRoute] = economy.routes
app = Starlette(routes=routes, lifespan=economy.lifespan)
GOLD = Currency("gold", 0)


async def welcome(player_id: str) -> str:
    """Give a new player gold and a websocket token."""
    await economy.grant(player_id, GOLD, 100, grant_id=f"welcome:{player_id}")
    return economy.issue_token(player_id, ttl=300)


async def buy(player_id: str, sku: str) -> str:
    """Buy with the player's balance; the order's id."""
    order = await economy.payments.buy_with_balance(player_id, sku, request_id=f"{player_id}:1")
    return order.id


async def cash_out(player_id: str, asset_id: str, units: int, address: str) -> Withdrawal:
    """Withdraw to the player's wallet."""
    return await economy.withdrawals.withdraw(player_id, asset_id, units, address, request_id="w")


async def embedded(store: Store, client: KryptoGOClient) -> Mapping[str, RewardRunner]:
    """An economy over the game's own store and client."""
    async with Economy.from_parts(store=store, client=client, token_secret="s" * 32) as eco:
        balance = await eco.ledger.balance("player:alice", GOLD.id)
        assert balance.available >= 0
        return eco.rewards
'''

MISTAKES = '''\
"""The same surface used wrongly: every line marked below must be an error."""

from gamepay import Catalog, Economy
from gamepay.config import load_settings

economy = Economy.from_settings(load_settings(), Catalog())


async def wrong() -> None:
    """Three mistakes mypy must see."""
    await economy.payments.buy_with_balance("alice", 3, request_id="r")  # error: sku is a str
    economy.issue_token(42)  # error: the player id is a str
    order = await economy.payments.purchase("alice", "sword")
    order.no_such_field  # error: PaymentInstructions has no such field
'''


def test_user_code_is_strict_clean_and_mistakes_are_caught(tmp_path: Path) -> None:
    """``mypy --strict`` passes on user code (and on examples/game_server.py) and reports
    exactly the three planted mistakes."""
    (tmp_path / "game.py").write_text(USER_CODE, encoding="utf-8")
    example = (ROOT / "examples" / "game_server.py").read_text(encoding="utf-8")
    (tmp_path / "game_server.py").write_text(example, encoding="utf-8")
    (tmp_path / "mistakes.py").write_text(MISTAKES, encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "user-typing"),
            "game.py",
            "game_server.py",
            "mistakes.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert [e for e in errors if e.startswith("game")] == [], done.stdout
    marked = [
        number for number, line in enumerate(MISTAKES.splitlines(), start=1) if "# error:" in line
    ]
    reported = sorted({int(e.split(":")[1]) for e in errors if e.startswith("mistakes.py")})
    assert reported == marked, done.stdout
