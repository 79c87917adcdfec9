"""`gamepay withdrawals list/resolve` on a real SQLite store after real withdrawals."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gamepay.core.accounts import player_account, world_account
from gamepay.core.assets import Token
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.ledger import Ledger
from gamepay.sandbox import Faults, SandboxConfig
from gamepay.store import Store
from gamepay.testing import running_sandbox, sqlite_url
from gamepay.withdrawals import Withdrawals, WithdrawalsConfig
from tests.support.cli import invoke
from tests.support.sandbox import client_for

USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)
WALLET = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"


async def _withdraw_twice(url: str) -> tuple[str, str]:
    """One withdrawal that is sent, one whose transfer times out after the sandbox executed it."""
    store = await Store.connect(url)
    await store.migrate()
    ledger = Ledger(store)
    config = WithdrawalsConfig(tokens={USDT.id: USDT})
    try:
        async with running_sandbox(SandboxConfig(strict=True)) as sb:
            sb.sandbox.fund("arb", "USDT", "100")
            async with client_for(sb, timeout=0.5) as client:
                service = Withdrawals(store, ledger, client, config=config)
                await service.prepare()
                alice = player_account("alice")
                await ledger.open_account(alice)
                deposit = TransferSpec(
                    world_account("arb"), alice, USDT.id, 10_000_000, TransferKind.DEPOSIT
                )
                await ledger.transfer("dep", deposit)
                sent = await service.withdraw("alice", USDT.id, 2_000_000, WALLET, request_id="w1")
                sb.sandbox.set_faults(Faults(timeout_after_commit_rate=1.0, timeout_mode="504"))
                unknown = await service.withdraw(
                    "alice", USDT.id, 3_000_000, WALLET, request_id="w2"
                )
        return sent.id, unknown.id
    finally:
        await store.close()


@pytest.fixture
def setup(tmp_path: Path) -> tuple[str, str, str]:
    """A database with one sent and one unknown withdrawal of alice's."""
    url = sqlite_url(tmp_path / "w.db")
    sent, unknown = asyncio.run(_withdraw_twice(url))
    return url, sent, unknown


def test_list_and_filter(setup: tuple[str, str, str]) -> None:
    """All withdrawals list oldest first; --status unknown shows the one awaiting an operator."""
    url, sent, unknown = setup
    code, out = invoke(url, "withdrawals", "list", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert [(r["withdrawal_id"], r["status"]) for r in rows] == [
        (sent, "sent"),
        (unknown, "unknown"),
    ]
    assert rows[0]["amount"] == "2"
    code, out = invoke(url, "withdrawals", "list", "--status", "unknown", "--json")
    assert [r["withdrawal_id"] for r in json.loads(out)] == [unknown]
    code, out = invoke(url, "withdrawals", "list", "--player", "bob", "--json")
    assert json.loads(out) == []
    code, out = invoke(url, "withdrawals", "list")
    assert code == 0
    assert unknown in out


def test_resolve_unknown_as_sent_posts_the_hold(setup: tuple[str, str, str]) -> None:
    """resolve --outcome sent settles it; the held funds leave; resolving twice is refused."""
    url, _, unknown = setup
    code, out = invoke(url, "balance", "alice", "--json")
    usdt = json.loads(out)["balances"][0]
    assert (usdt["available"], usdt["held"]) == ("5", "3")
    code, out = invoke(
        url, "withdrawals", "resolve", unknown, "--outcome", "sent", "--tx-hash", "0xabc", "--json"
    )
    assert code == 0, out
    assert json.loads(out)["status"] == "sent"
    code, out = invoke(url, "balance", "alice", "--json")
    usdt = json.loads(out)["balances"][0]
    assert (usdt["available"], usdt["held"]) == ("5", "0")
    code, out = invoke(url, "withdrawals", "resolve", unknown, "--outcome", "failed", "--json")
    assert code == 1
    assert json.loads(out)["error"] == "illegal_transition"
    assert invoke(url, "verify")[0] == 0


def test_resolve_as_failed_returns_the_funds(setup: tuple[str, str, str]) -> None:
    """resolve --outcome failed voids the hold: the player's funds are back."""
    url, _, unknown = setup
    code, out = invoke(url, "withdrawals", "resolve", unknown, "--outcome", "failed")
    assert code == 0, out
    code, out = invoke(url, "balance", "alice", "--json")
    usdt = json.loads(out)["balances"][0]
    assert (usdt["available"], usdt["held"]) == ("8", "0")


def test_bad_outcome_and_unknown_id(setup: tuple[str, str, str]) -> None:
    """A bad --outcome is a usage error (2); an unknown id is withdrawal_not_found (1)."""
    url, _, _ = setup
    assert invoke(url, "withdrawals", "resolve", "wd_x", "--outcome", "maybe")[0] == 2
    code, out = invoke(url, "withdrawals", "resolve", "wd_x", "--outcome", "sent", "--json")
    assert code == 1
    assert json.loads(out)["error"] == "withdrawal_not_found"


def test_recover_leaves_settled_withdrawals_alone(setup: tuple[str, str, str]) -> None:
    """recover touches only held/sending rows: here none, so nothing changes."""
    url, sent, unknown = setup
    code, out = invoke(url, "withdrawals", "recover", "--json")
    assert code == 0, out
    assert json.loads(out) == {"unknown": [], "voided": []}
    code, out = invoke(url, "withdrawals", "list", "--json")
    rows = [(r["withdrawal_id"], r["status"]) for r in json.loads(out)]
    assert rows == [(sent, "sent"), (unknown, "unknown")]
