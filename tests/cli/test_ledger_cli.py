"""`gamepay db upgrade`, `balance`, `history`, `verify` against a real SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from gamepay import Item, Token
from gamepay.core.accounts import AccountKind, issuer_account, player_account, world_account
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.testing import sqlite_url
from tests.support.cli import invoke

USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)
SWORD = Item("sword")


async def _populate(url: str) -> None:
    store = await Store.connect(url)
    try:
        ledger = Ledger(store)
        await ledger.register_asset(USDT)
        await ledger.register_asset(SWORD)
        world = world_account("arb")
        issuer = issuer_account(SWORD.id)
        for account in (world, issuer):
            await ledger.open_account(account, kind=AccountKind.SYSTEM, allow_negative=True)
        await ledger.open_account("revenue", kind=AccountKind.SYSTEM)
        alice = player_account("alice")
        await ledger.open_account(alice)
        await ledger.transfer(
            "dep-1", TransferSpec(world, alice, USDT.id, 12_500_000, TransferKind.DEPOSIT)
        )
        await ledger.batch(
            "buy-1",
            [
                TransferSpec(alice, "revenue", USDT.id, 2_000_000, TransferKind.PURCHASE),
                TransferSpec(issuer, alice, SWORD.id, 1, TransferKind.GRANT),
            ],
        )
        await ledger.hold(
            "wd-1", TransferSpec(alice, world, USDT.id, 500_000, TransferKind.WITHDRAWAL)
        )
    finally:
        await store.close()


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite file migrated by `gamepay db upgrade`, holding one player's activity."""
    db = sqlite_url(tmp_path / "cli.db")
    code, out = invoke(db, "db", "upgrade", "--json")
    assert code == 0, out
    assert json.loads(out)["upgraded"] is True
    asyncio.run(_populate(db))
    return db


def test_db_upgrade_creates_missing_directory_and_is_idempotent(tmp_path: Path) -> None:
    """The default-style relative SQLite path gets its directory; running twice is fine."""
    db = sqlite_url(tmp_path / "nested" / "dir" / "g.db")
    assert invoke(db, "db", "upgrade")[0] == 0
    assert invoke(db, "db", "upgrade")[0] == 0
    assert (tmp_path / "nested" / "dir" / "g.db").exists()


def test_balance_json_and_table(url: str) -> None:
    """Balances show exact decimals per asset; held funds separately; units exact."""
    code, out = invoke(url, "balance", "alice", "--json")
    assert code == 0, out
    data = json.loads(out)
    rows = {row["code"]: row for row in data["balances"]}
    assert rows["USDT"]["available"] == "10"
    assert rows["USDT"]["held"] == "0.5"
    assert rows["USDT"]["available_units"] == "10000000"
    assert rows["sword"]["available"] == "1"
    code, out = invoke(url, "balance", "alice")
    assert code == 0
    assert "USDT" in out
    assert "0.5" in out


def test_balance_of_unknown_player_is_a_clean_error(url: str) -> None:
    """An unknown player exits 1 with the error code in JSON, no traceback."""
    code, out = invoke(url, "balance", "nobody", "--json")
    assert code == 1
    assert json.loads(out)["error"] == "account_not_found"


def test_history_pages(url: str) -> None:
    """History is newest first with signed changes; --limit/--cursor page through it."""
    code, out = invoke(url, "history", "alice", "--json", "--limit", "2")
    assert code == 0, out
    first = json.loads(out)
    assert [e["kind"] for e in first["entries"]] == ["grant", "purchase"]
    assert first["entries"][1]["change"] == "-2"
    assert first["next_cursor"]
    code, out = invoke(url, "history", "alice", "--json", "--cursor", first["next_cursor"])
    rest = json.loads(out)
    assert [(e["kind"], e["change"]) for e in rest["entries"]] == [("deposit", "12.5")]
    assert rest["next_cursor"] is None
    code, out = invoke(url, "history", "alice")
    assert code == 0
    assert "deposit" in out


def test_verify_passes_then_catches_tampering(url: str) -> None:
    """verify exits 0 on an honest ledger and 1 after a balance row is edited behind its back."""
    code, out = invoke(url, "verify", "--json")
    assert code == 0, out
    assert json.loads(out)["ok"] is True

    async def tamper() -> None:
        store = await Store.connect(url)
        try:
            async with store.transaction() as conn:
                await conn.execute(
                    text("UPDATE gp_balances SET available = '99' WHERE account_id = :a"),
                    {"a": "player:alice"},
                )
        finally:
            await store.close()

    asyncio.run(tamper())
    code, out = invoke(url, "verify", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert any("player:alice" in p for p in report["problems"])
    code, out = invoke(url, "verify")
    assert code == 1
    assert "problem" in out
