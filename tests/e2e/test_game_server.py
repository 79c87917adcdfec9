"""Issue 12's done-when: a ~40-line game server written against ``gamepay.Economy`` alone,
mounted in a Starlette app and served by uvicorn in its own process; a player buys with their
balance, gets the push, tops up with crypto (the sandbox pays, KryptoGO calls back) and
withdraws, all through ONE port (the websocket at ``/ws`` beside the callback)."""

from __future__ import annotations

import ast
import asyncio
import os
import secrets
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from gamepay.testing import running_sandbox, sqlite_url
from tests.support.processes import interrupt
from tests.support.ws_client import open_client

ROOT = Path(__file__).resolve().parents[2]
GAME = ROOT / "examples" / "game_server.py"
USDT = "token:arb:0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9"
WALLET = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"


def test_the_game_server_is_small_and_uses_the_one_entry_point_only() -> None:
    """At most 60 lines, and of gamepay it imports the top-level package alone."""
    source = GAME.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 60
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert {m for m in imported if m.split(".")[0] in ("gamepay", "gamepay_ws")} == {"gamepay"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def _game(directory: Path, env: dict[str, str], port: int) -> AsyncIterator[str]:
    """Run the game server file (copied into ``directory``) until the block exits; its URL."""
    shutil.copy(GAME, directory / "game.py")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "game.py",
        "--port",
        str(port),
        cwd=directory,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(300):
                if proc.returncode is not None:
                    break
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        assert proc.returncode is None, (await proc.stdout.read()).decode()  # type: ignore[union-attr]
        yield url
    finally:
        await interrupt(proc)


def _is(event: str, **data: Any) -> Any:
    """A push predicate: this event, its data holding at least these items."""
    return lambda push: push.get("event") == event and data.items() <= push["data"].items()


async def test_a_player_buys_gets_the_push_tops_up_and_withdraws_through_one_port(
    tmp_path: Path,
) -> None:
    """The whole first day of a player, against the game server process, on one port."""
    async with running_sandbox() as sandbox:
        sandbox.sandbox.fund("arb", "USDT", "1000")  # the studio's treasury pays withdrawals
        port = _free_port()
        env = {
            **os.environ,
            "GAMEPAY_ENV": "dev",
            "GAMEPAY_DATABASE_URL": sqlite_url(tmp_path / "game.db"),
            "GAMEPAY_KRYPTOGO_BASE_URL": sandbox.url,
            "GAMEPAY_KRYPTOGO_CLIENT_ID": sandbox.client_id,
            "GAMEPAY_KRYPTOGO_API_KEY": sandbox.api_key,
            "GAMEPAY_KRYPTOGO_ORIGIN": sandbox.origin,
            "GAMEPAY_WS_TOKEN_SECRET": secrets.token_hex(32),
            "GAMEPAY_CALLBACK_PUBLIC_URL": f"http://127.0.0.1:{port}/kryptogo/callback",
        }
        async with _game(tmp_path, env, port) as url, httpx.AsyncClient(base_url=url) as http:
            token = (await http.get("/login", params={"player": "alice"})).json()["token"]
            async with open_client(f"ws://127.0.0.1:{port}/ws", token) as alice:
                bought = await alice.ok("buy_with_balance", sku="sword")
                await alice.wait_push(_is("asset_granted", order_id=bought["order_id"]))
                pay = await alice.ok("top_up", amount="65", currency="TWD")  # 2 USDT
                sandbox.sandbox.pay(pay["payment_intent_id"], "exact")
                await alice.wait_push(
                    _is("order_status_changed", order_id=pay["order_id"], status="success")
                )
                sent = await alice.ok("withdraw", asset=USDT, amount="1.5", address=WALLET)
                assert sent["status"] == "sent"
                await alice.wait_push(
                    _is("withdrawal_status_changed", withdrawal_id=sent["withdrawal_id"])
                )
                balances = {
                    b["asset"]: b["available"] for b in (await alice.ok("balance"))["balances"]
                }
        assert balances == {"currency:gold": "500", "item:sword": "1", USDT: "0.5"}
        assert len(sandbox.sandbox.transfers.records()) == 1  # sent once
