"""The wheel as a new user gets it: built from the checkout, installed in a fresh venv OUTSIDE it.

`gamepay[all]`: `gamepay demo --quick` passes and `gamepay serve` answers `/healthz`, serves the
storefront page at `/` and authenticates a websocket at `/ws`, all on one port, with nothing of
the checkout on the path. The core install (no extras) embeds the ledger on SQLite without one
server or CLI package installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from gamepay.testing import running_sandbox, sqlite_url
from gamepay_ws import issue_token

ROOT = Path(__file__).resolve().parents[2]
WS_SECRET = "a-websocket-token-secret-of-32-bytes-or-more"
ADMIN_TOKEN = "an-admin-token-for-the-wheel-test-of-32-bytes"
SERVER_PACKAGES = ("starlette", "uvicorn", "websockets", "prometheus_client", "typer", "rich")

pytestmark = pytest.mark.slow


def _clean_env(home: Path) -> dict[str, str]:
    """The environment of a new user: no GAMEPAY_* settings, no path into the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GAMEPAY_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update({"HOME": str(home), "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"})
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build --wheel`` of the checkout (once per module)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("gamepay-*.whl")
    return built


def _venv(where: Path, requirement: str) -> Path:
    """A fresh venv at ``where`` with ``requirement`` pip-installed; its bin directory."""
    venv.create(where, with_pip=True)
    bin_dir = where / "bin"
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", requirement],
        check=True,
        capture_output=True,
        timeout=900,
        cwd=where,
        env=_clean_env(where),
    )
    return bin_dir


def test_the_wheel_holds_the_storefront_license_and_migrations(wheel: Path) -> None:
    """The storefront page and its client (the file itself), the console's templates and
    stylesheet, LICENSE, the migrations and the type markers are in the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "gamepay_ws/static/index.html" in names
    client = zipfile.ZipFile(wheel).read("gamepay_ws/static/gamepay.js")  # the link, resolved
    assert client == (ROOT / "clients" / "js" / "gamepay.js").read_bytes()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)[-8:]
    assert "gamepay/store/migrations/script.py.mako" in names
    assert "gamepay/store/migrations/versions/0001_ledger.py" in names
    assert {"gamepay/py.typed", "gamepay_ws/py.typed", "gamepay_admin/py.typed"} <= names
    console = {"templates/base.html", "templates/signin.html", "static/console.css"}
    assert {f"gamepay_admin/{name}" for name in console} <= names
    assert not [n for n in names if n.startswith(("tests/", "examples/", "bench/"))]
    metadata = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))
    )
    assert b"License-Expression: MIT" in metadata
    for extra in (b"postgres", b"server", b"cli", b"all"):
        assert b"Provides-Extra: " + extra in metadata


def test_core_install_embeds_the_ledger_on_sqlite_without_server_packages(
    wheel: Path, tmp_path: Path
) -> None:
    """`pip install gamepay` (no extras): the ledger runs on SQLite; no server/CLI package is
    installed; a PostgreSQL URL says which extra it needs."""
    bin_dir = _venv(tmp_path / "venv", str(wheel))
    program = """
import asyncio, importlib.util, sys
import gamepay
from gamepay import Currency, Ledger, Store, TransferKind, TransferSpec, player_account
from gamepay.core.accounts import AccountKind, issuer_account

async def main():
    store = await Store.connect("sqlite:///ledger.db")
    await store.migrate()
    ledger = Ledger(store)
    gold = Currency("gold", 0)
    await ledger.register_asset(gold)
    await ledger.open_account(issuer_account(gold.id), kind=AccountKind.SYSTEM, allow_negative=True)
    await ledger.open_account(player_account("alice"))
    spec = TransferSpec(issuer_account(gold.id), player_account("alice"), gold.id, 2**200,
                        TransferKind.GRANT, "welcome")
    await ledger.transfer("t1", spec)
    balance = await ledger.balance(player_account("alice"), gold.id)
    assert (await ledger.verify()).ok
    await store.close()
    try:
        await Store.connect("postgresql://nobody@127.0.0.1:9/none")
    except gamepay.errors.ConfigError as exc:
        assert "gamepay[postgres]" in str(exc), exc
    else:
        raise AssertionError("PostgreSQL without asyncpg was accepted")
    print(balance.available == 2**200)

asyncio.run(main())
missing = [n for n in sys.argv[1:] if importlib.util.find_spec(n) is None]
print(",".join(missing))
"""
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", program, *SERVER_PACKAGES, "asyncpg"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_clean_env(tmp_path),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ran, missing = done.stdout.splitlines()
    assert ran == "True"
    assert missing.split(",") == [*SERVER_PACKAGES, "asyncpg"]


async def test_all_extra_runs_the_demo_and_serves_one_port(wheel: Path, tmp_path: Path) -> None:
    """`pip install gamepay[all]` outside the checkout: `gamepay demo --quick` passes; `gamepay
    serve` answers /healthz, serves the page at /, the console's sign-in at /admin/signin and
    authenticates a websocket at /ws."""
    bin_dir = await asyncio.to_thread(_venv, tmp_path / "venv", f"{wheel}[all]")
    gamepay = str(bin_dir / "gamepay")
    home = tmp_path / "user"
    home.mkdir()
    env = _clean_env(home)

    demo = await asyncio.create_subprocess_exec(
        gamepay, "demo", "--quick", "--dir", str(home / "demo"),
        cwd=home, env={**env, "GAMEPAY_ENV": "dev"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(demo.communicate(), 300)
    assert demo.returncode == 0, (out.decode()[-2000:], err.decode()[-2000:])
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["storefront_url"].startswith("http://127.0.0.1:")

    async with running_sandbox() as sandbox:
        serve_env = {
            **env,
            "GAMEPAY_ENV": "dev",
            "GAMEPAY_DATABASE_URL": sqlite_url(home / "serve.db"),
            "GAMEPAY_KRYPTOGO_BASE_URL": sandbox.url,
            "GAMEPAY_KRYPTOGO_CLIENT_ID": sandbox.client_id,
            "GAMEPAY_KRYPTOGO_API_KEY": sandbox.api_key,
            "GAMEPAY_KRYPTOGO_ORIGIN": sandbox.origin,
            "GAMEPAY_CALLBACK_PUBLIC_URL": "http://127.0.0.1:9/kryptogo/callback",
            "GAMEPAY_WS_TOKEN_SECRET": WS_SECRET,
            "GAMEPAY_HTTP_PORT": "0",
            "GAMEPAY_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        serve = await asyncio.create_subprocess_exec(
            gamepay, "serve", cwd=home, env=serve_env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert serve.stdout is not None
        try:
            line = (await asyncio.wait_for(serve.stdout.readline(), 60)).decode()
            found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            assert found, line
            base = f"http://127.0.0.1:{found.group(1)}"
            async with httpx.AsyncClient(base_url=base) as http:
                assert (await http.get("/healthz")).status_code == 200
                page = await http.get("/")
                assert page.status_code == 200
                assert 'import { GamepayClient } from "./gamepay.js"' in page.text
                client = await http.get("/gamepay.js")  # the official client, beside the page
                assert client.status_code == 200
                assert "export class GamepayClient" in client.text
                signin = await http.get("/admin/signin")  # the console, from the package
                assert signin.status_code == 200
                assert "Paste the console token" in signin.text
                assert (await http.get("/admin/static/console.css")).status_code == 200
            ws_url = base.replace("http", "ws", 1) + "/ws"
            async with connect(ws_url) as ws:
                token = issue_token("alice", WS_SECRET, 60)
                await ws.send(json.dumps({"type": "authenticate", "id": 1, "token": token}))
                reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert (reply["type"], reply["player_id"]) == ("authenticate_result", "alice")
        finally:
            serve.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(serve.communicate(), 30)
        assert serve.returncode == 0, err.decode()[-2000:]
