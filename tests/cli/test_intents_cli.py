"""`gamepay intents list/show` and `gamepay reconcile` against real orders and the sandbox."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gamepay.cli.main import app
from gamepay.ledger import Ledger
from gamepay.payments import Payments, PaymentsConfig
from gamepay.store import Store
from gamepay.testing import sqlite_url
from tests.cli.conftest import ThreadedSandbox
from tests.support.catalog import SWORD_CATALOG
from tests.support.sandbox import client_for

CATALOG = SWORD_CATALOG
SECRET = "sk_wrong_but_secret_4242"


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run the CLI with ``env``; return exit code, stdout, stderr."""
    result = CliRunner().invoke(
        app, ["--env-file", os.devnull, *args], env={"COLUMNS": "200", **env}
    )
    return result.exit_code, result.stdout, result.stderr


async def _orders(url: str, sandbox: ThreadedSandbox) -> tuple[str, str]:
    """Alice buys a sword, bob starts a top-up; no callback URL, so nothing learns of payments."""
    running = sandbox.running
    store = await Store.connect(url)
    try:
        await store.migrate()
        async with client_for(running) as client:
            payments = Payments(store, Ledger(store), client, CATALOG, config=PaymentsConfig())
            sword = await payments.purchase("alice", "sword", request_id="r1")
            await payments.top_up("bob", "150", "TWD", request_id="r2")
        return sword.order_id, sword.payment_intent_id
    finally:
        await store.close()


@pytest.fixture
def env(tmp_path: Path, threaded_sandbox: ThreadedSandbox) -> dict[str, str]:
    """GAMEPAY_* settings of a SQLite store with two pending orders, pointed at the sandbox."""
    url = sqlite_url(tmp_path / "i.db")
    order_id, intent_id = asyncio.run(_orders(url, threaded_sandbox))
    threaded_sandbox.call(threaded_sandbox.running.sandbox.pay, intent_id, "exact")
    catalog = tmp_path / "catalog.json"
    catalog.write_text(CATALOG.model_dump_json())
    running = threaded_sandbox.running
    return {
        "GAMEPAY_DATABASE_URL": url,
        "GAMEPAY_KRYPTOGO_BASE_URL": running.url,
        "GAMEPAY_KRYPTOGO_CLIENT_ID": running.client_id,
        "GAMEPAY_KRYPTOGO_API_KEY": running.api_key,
        "GAMEPAY_KRYPTOGO_ORIGIN": running.origin,
        "GAMEPAY_CATALOG_FILE": str(catalog),
        "GAMEPAY_LOG_LEVEL": "ERROR",
        "ORDER_ID": order_id,
        "INTENT_ID": intent_id,
    }


def test_list_filters(env: dict[str, str]) -> None:
    """Orders list newest first, filtered by player and status."""
    code, out, _ = invoke(env, "intents", "list", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert [(r["player_id"], r["kind"], r["status"]) for r in rows] == [
        ("bob", "top_up", "pending"),
        ("alice", "purchase", "pending"),
    ]
    assert rows[1]["symbol"] == "USDT"
    assert rows[1]["crypto_amount"]
    code, out, _ = invoke(env, "intents", "list", "--player", "alice", "--json")
    assert [r["order_id"] for r in json.loads(out)] == [env["ORDER_ID"]]
    code, out, _ = invoke(env, "intents", "list", "--status", "success", "--json")
    assert json.loads(out) == []
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    code, out, _ = invoke(env, "intents", "list", "--since", tomorrow, "--json")
    assert json.loads(out) == []
    code, out, _ = invoke(env, "intents", "list", "--status", "bogus")
    assert code == 2
    code, out, _ = invoke(env, "intents", "list")
    assert code == 0
    assert env["ORDER_ID"] in out


def test_show_local_and_remote(env: dict[str, str]) -> None:
    """show finds an order by order id or intent id; --remote adds KryptoGO's view."""
    code, out, _ = invoke(env, "intents", "show", env["INTENT_ID"], "--remote", "--json")
    assert code == 0, out
    view = json.loads(out)
    assert view["order_id"] == env["ORDER_ID"]
    assert view["status"] == "pending"
    assert view["remote"]["status"] == "success"
    code, out, _ = invoke(env, "intents", "show", env["ORDER_ID"])
    assert code == 0
    assert "alice" in out
    code, out, _ = invoke(env, "intents", "show", "ord_nope", "--json")
    assert code == 1
    assert json.loads(out)["error"] == "order_not_found"


def test_reconcile_repairs_the_missed_payment(env: dict[str, str]) -> None:
    """reconcile applies the success nobody called back about: alice gets her sword, once."""
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    code, out, _ = invoke(env, "reconcile", "--since", since, "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["listed"] == 2
    assert report["repaired"] == 1
    assert report["ok"] is True
    code, out, _ = invoke(env, "intents", "list", "--status", "success", "--json")
    assert [r["order_id"] for r in json.loads(out)] == [env["ORDER_ID"]]
    code, out, _ = invoke(env, "reconcile", "--since", since, "--json")
    assert json.loads(out)["repaired"] == 0
    code, out, _ = invoke(env, "balance", "alice", "--json")
    assert {b["code"]: b["available"] for b in json.loads(out)["balances"]}["sword"] == "1"
    assert invoke(env, "verify")[0] == 0


def test_reconcile_window_must_be_ordered(env: dict[str, str]) -> None:
    """--until before --since is a usage error."""
    code, _, _ = invoke(env, "reconcile", "--since", "2026-01-02", "--until", "2026-01-01")
    assert code == 2


def test_api_key_never_reaches_output_or_logs(env: dict[str, str]) -> None:
    """With a wrong key and DEBUG logs, the command fails cleanly and never prints the key."""
    bad = {**env, "GAMEPAY_KRYPTOGO_API_KEY": SECRET, "GAMEPAY_LOG_LEVEL": "DEBUG"}
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    code, out, err = invoke(bad, "reconcile", "--since", since, "--json")
    assert code == 1
    assert json.loads(out)["error"] == "api_authentication"
    assert err  # DEBUG logging did produce lines
    assert SECRET not in out
    assert SECRET not in err
    code, out, err = invoke(bad, "intents", "show", env["ORDER_ID"], "--remote")
    assert code == 1
    assert SECRET not in out + err
    code, out, err = invoke(bad, "config", "--json")
    assert SECRET not in out + err


def test_reconcile_with_the_catalog_defined_in_python(env: dict[str, str]) -> None:
    """The orders were made by a Python-defined catalog and the CLI has no catalog file: the
    order's stored grant settles it; alice gets her sword."""
    bare = {k: v for k, v in env.items() if k != "GAMEPAY_CATALOG_FILE"}
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    code, out, _ = invoke(bare, "reconcile", "--since", since, "--json")
    assert code == 0, out
    report = json.loads(out)
    assert (report["repaired"], report["needs_operator"], report["errors"]) == (1, 0, 0)
    code, out, _ = invoke(bare, "balance", "alice", "--json")
    assert {b["code"]: b["available"] for b in json.loads(out)["balances"]}["sword"] == "1"
    assert invoke(bare, "verify")[0] == 0


async def _stuck_and_stray(url: str, sandbox: ThreadedSandbox) -> str:
    """A purchase that crashed before its create call two hours ago, and an intent at the API
    that no local order claims; returns the stuck order's id."""
    running = sandbox.running

    def crash(point: str) -> None:
        if point == "create.before_api":
            raise RuntimeError("crash")

    store = await Store.connect(url)
    try:
        async with client_for(running) as client:
            payments = Payments(
                store,
                Ledger(store),
                client,
                CATALOG,
                clock=lambda: datetime.now(UTC) - timedelta(hours=2),
                fault_hook=crash,
            )
            with pytest.raises(RuntimeError):
                await payments.purchase("carl", "sword", request_id="s1")
            (order,) = await payments.orders_for("carl")
            await client.create_intent(
                fiat_amount="5",
                fiat_currency="USD",
                order_data={"order_id": "ord_from_elsewhere"},
                group_key="gamepay",
            )
        return order.id
    finally:
        await store.close()


def test_reconcile_outcomes_and_exit_status(
    env: dict[str, str], threaded_sandbox: ThreadedSandbox
) -> None:
    """A stuck creating order past GAMEPAY_CREATING_TIMEOUT_S is closed (repaired); a stray
    intent needs an operator: exit 1, each mismatch with its outcome."""
    stuck = asyncio.run(_stuck_and_stray(env["GAMEPAY_DATABASE_URL"], threaded_sandbox))
    since = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    long_wait = {**env, "GAMEPAY_CREATING_TIMEOUT_S": str(4 * 3600)}
    code, out, _ = invoke(long_wait, "reconcile", "--since", since, "--json")
    assert code == 1
    assert len(out.strip().splitlines()) == 1
    report = json.loads(out)
    outcomes = {(m["kind"], m["outcome"]) for m in report["mismatches"]}
    assert ("stuck_creating", "waiting") in outcomes
    assert ("missing_locally", "operator") in outcomes
    assert (report["needs_operator"], report["waiting"], report["ok"]) == (1, 1, False)

    code, out, _ = invoke(env, "reconcile", "--since", since)
    assert code == 1
    assert "needs an operator 1" in out
    code, out, _ = invoke(env, "intents", "show", stuck, "--json")
    assert json.loads(out)["status"] == "failed"
    code, out, _ = invoke(env, "reconcile", "--since", since, "--json")
    report = json.loads(out)
    assert not any(m["kind"] == "stuck_creating" for m in report["mismatches"])


def test_close_stuck_command(env: dict[str, str], threaded_sandbox: ThreadedSandbox) -> None:
    """close-stuck --dry-run says what it would do and writes nothing; then it closes."""
    stuck = asyncio.run(_stuck_and_stray(env["GAMEPAY_DATABASE_URL"], threaded_sandbox))
    code, out, _ = invoke(env, "intents", "close-stuck", "--dry-run", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["dry_run"] is True
    assert [(o["order_id"], o["action"]) for o in report["orders"]] == [(stuck, "closed")]
    code, out, _ = invoke(env, "intents", "show", stuck, "--json")
    assert json.loads(out)["status"] == "creating"
    long_wait = {**env, "GAMEPAY_CREATING_TIMEOUT_S": str(4 * 3600)}
    code, out, _ = invoke(long_wait, "intents", "close-stuck", "--json")
    assert code == 0
    assert json.loads(out)["waiting"] == 1
    code, out, _ = invoke(env, "intents", "close-stuck")
    assert code == 0
    assert "1 closed" in out
    code, out, _ = invoke(env, "intents", "show", stuck, "--json")
    assert json.loads(out)["status"] == "failed"
    code, out, _ = invoke(env, "intents", "close-stuck", "--json")
    assert json.loads(out)["orders"] == []
