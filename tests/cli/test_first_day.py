"""The mistakes a studio makes on its first day end in a few lines naming the fix, as processes.

Each test runs ``python -m gamepay.cli.main`` in an empty directory with no ``GAMEPAY_*``
variable but the ones it sets, and checks the exit code, the number of lines and that nothing
was created that should not be (no database file, no bound port).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gamepay.sandbox import SandboxConfig
from gamepay.testing import running_sandbox, sqlite_url

GOOD_SECRET = "a-websocket-token-secret-of-32-bytes-or-more"


def gamepay(cwd: Path, *args: str, timeout: float = 60, **env: str) -> tuple[int, list[str]]:
    """Run the CLI in ``cwd`` with only ``env`` as GAMEPAY_* settings; (exit code, lines)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GAMEPAY_")}
    clean.update({"COLUMNS": "80", **env})
    done = subprocess.run(
        [sys.executable, "-m", "gamepay.cli.main", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.returncode, (done.stdout + done.stderr).splitlines()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _assert_nothing_created(cwd: Path) -> None:
    assert list(cwd.iterdir()) == [], sorted(p.name for p in cwd.iterdir())


def test_serve_without_token_secret_refuses_in_few_lines(tmp_path: Path) -> None:
    """Out of the box `serve` exits 2 in <= 5 lines naming every unsafe variable, and neither
    creates the database nor binds the port."""
    port = _free_port()
    code, lines = gamepay(tmp_path, "serve", GAMEPAY_HTTP_PORT=str(port))
    assert code == 2, lines
    assert 1 <= len(lines) <= 5, lines
    text = "\n".join(lines)
    for name in (
        "GAMEPAY_WS_TOKEN_SECRET",
        "GAMEPAY_KRYPTOGO_CLIENT_ID",
        "GAMEPAY_KRYPTOGO_API_KEY",
        "GAMEPAY_CALLBACK_PUBLIC_URL",
    ):
        assert name in text
    assert "Traceback" not in text
    _assert_nothing_created(tmp_path)
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # nobody took it


@pytest.mark.parametrize(
    ("secret", "rule"),
    [("change-me-demo-only", "demo value"), ("short-secret", "12 bytes, shorter than 32")],
)
def test_serve_refuses_a_demo_or_short_secret(tmp_path: Path, secret: str, rule: str) -> None:
    """A known demo secret or one under 32 bytes is refused by name, even against a sandbox."""
    code, lines = gamepay(
        tmp_path,
        "serve",
        GAMEPAY_WS_TOKEN_SECRET=secret,
        GAMEPAY_KRYPTOGO_BASE_URL="http://127.0.0.1:9",
    )
    assert code == 2, lines
    assert len(lines) == 2, lines
    assert "GAMEPAY_WS_TOKEN_SECRET" in lines[0]
    assert rule in lines[0]
    assert secret not in "\n".join(lines)
    _assert_nothing_created(tmp_path)


def test_serve_refuses_a_short_admin_token(tmp_path: Path) -> None:
    """A GAMEPAY_ADMIN_TOKEN under 32 bytes is one line naming it (never its value), exit 2."""
    code, lines = gamepay(
        tmp_path,
        "serve",
        GAMEPAY_WS_TOKEN_SECRET=GOOD_SECRET,
        GAMEPAY_KRYPTOGO_BASE_URL="http://127.0.0.1:9",
        GAMEPAY_ADMIN_TOKEN="short-admin-token",
    )
    assert code == 2, lines
    assert len(lines) == 2, lines
    assert lines[0].startswith("error: GAMEPAY_ADMIN_TOKEN is 17 bytes, shorter than 32")
    assert "short-admin-token" not in "\n".join(lines)
    _assert_nothing_created(tmp_path)


def test_serve_refuses_sandbox_credentials_on_the_dev_host(tmp_path: Path) -> None:
    """KryptoGO's wallet-dev host counts as real: sandbox credentials and no callback URL are
    refused there too, while the secret passes."""
    code, lines = gamepay(
        tmp_path,
        "serve",
        GAMEPAY_WS_TOKEN_SECRET=GOOD_SECRET,
        GAMEPAY_KRYPTOGO_ENV="dev",
    )
    assert code == 2, lines
    text = "\n".join(lines)
    assert "wallet-dev.kryptogo.app" in text
    assert "GAMEPAY_KRYPTOGO_API_KEY" in text
    assert "GAMEPAY_CALLBACK_PUBLIC_URL" in text
    assert "GAMEPAY_WS_TOKEN_SECRET" not in text
    assert len(lines) <= 5
    _assert_nothing_created(tmp_path)


async def test_serve_tells_rejected_credentials_in_one_line(tmp_path: Path) -> None:
    """Credentials the KryptoGO host rejects stop `serve` with one line naming the variables,
    before the database exists; the key itself is never printed."""
    wrong_key = "sk_wrong_key_do_not_print_42"
    async with running_sandbox(SandboxConfig(api_key="sk_the_right_one")) as sandbox:
        code, lines = await asyncio.to_thread(
            gamepay,
            tmp_path,
            "serve",
            GAMEPAY_WS_TOKEN_SECRET=GOOD_SECRET,
            GAMEPAY_KRYPTOGO_BASE_URL=sandbox.url,
            GAMEPAY_KRYPTOGO_CLIENT_ID=sandbox.client_id,
            GAMEPAY_KRYPTOGO_API_KEY=wrong_key,
            GAMEPAY_KRYPTOGO_ORIGIN=sandbox.origin,
        )
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert "rejected the credentials" in lines[0]
    assert "GAMEPAY_KRYPTOGO_API_KEY" in lines[0]
    assert wrong_key not in lines[0]
    _assert_nothing_created(tmp_path)


def test_busy_port_is_one_error_line(tmp_path: Path) -> None:
    """A taken GAMEPAY_HTTP_PORT ends `serve` with exit 1 and one error line naming it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, lines = gamepay(
            tmp_path,
            "serve",
            GAMEPAY_ENV="dev",
            GAMEPAY_WS_TOKEN_SECRET=GOOD_SECRET,
            GAMEPAY_KRYPTOGO_BASE_URL="http://127.0.0.1:9",
            GAMEPAY_HTTP_PORT=str(port),
            GAMEPAY_WS_PORT="0",
            GAMEPAY_LOG_LEVEL="WARNING",
        )
    assert code == 1, lines
    assert len(lines) <= 5, lines
    errors = [line for line in lines if line.startswith("error")]
    assert len(errors) == 1, lines
    assert f"127.0.0.1:{port}" in errors[0]
    assert "GAMEPAY_HTTP_PORT" in errors[0]
    assert "already in use" in errors[0]
    assert "Traceback" not in "\n".join(lines)


def test_balance_on_a_fresh_directory_says_db_upgrade_and_creates_nothing(tmp_path: Path) -> None:
    """`gamepay balance alice` with the default database: exit 1, one line, no file made."""
    code, lines = gamepay(tmp_path, "balance", "alice")
    assert code == 1, lines
    assert len(lines) <= 5, lines
    assert "gamepay db upgrade" in "\n".join(lines)
    _assert_nothing_created(tmp_path)


def test_read_on_an_unmigrated_database_file_says_db_upgrade(tmp_path: Path) -> None:
    """An existing but empty SQLite file is not migrated: one line, exit 1, no tables made."""
    db = tmp_path / "empty.db"
    db.touch()
    code, lines = gamepay(tmp_path, "history", "alice", GAMEPAY_DATABASE_URL=sqlite_url(db))
    assert code == 1, lines
    assert len(lines) == 1, lines
    assert "no gamepay schema" in lines[0]
    assert "gamepay db upgrade" in lines[0]


def test_db_current_and_check(tmp_path: Path) -> None:
    """`db check` exits 1 until `db upgrade` ran, then 0; `db current` exits 0 either way and
    neither creates the file; every --json is exactly one line."""
    url = sqlite_url(tmp_path / "g.db")
    code, lines = gamepay(tmp_path, "db", "check", GAMEPAY_DATABASE_URL=url)
    assert (code, len(lines)) == (1, 1), lines
    assert "gamepay db upgrade" in lines[0]
    code, lines = gamepay(tmp_path, "db", "current", "--json", GAMEPAY_DATABASE_URL=url)
    assert (code, len(lines)) == (0, 1), lines
    assert '"exists": false' in lines[0]
    _assert_nothing_created(tmp_path)
    code, lines = gamepay(
        tmp_path, "db", "upgrade", "--json", GAMEPAY_DATABASE_URL=url, GAMEPAY_LOG_LEVEL="ERROR"
    )
    assert (code, len(lines)) == (0, 1), lines
    code, lines = gamepay(tmp_path, "db", "check", "--json", GAMEPAY_DATABASE_URL=url)
    assert (code, len(lines)) == (0, 1), lines
    assert '"up_to_date": true' in lines[0]


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (("--log-level", "LOUD", "config"), {}, "--log-level"),
        (("--env-file", "/nope/gamepay.env", "config"), {}, "/nope/gamepay.env"),
        (("config",), {"GAMEPAY_ENV_FILE": "/nope/gamepay.env"}, "GAMEPAY_ENV_FILE"),
        (("config",), {"GAMEPAY_WS_PORT": "seventy"}, "GAMEPAY_WS_PORT"),
        (("config",), {"GAMEPAY_ENV": "staging"}, "GAMEPAY_ENV"),
        (("balance",), {}, "Missing argument"),
        (("no-such-command",), {}, "no-such-command"),
    ],
)
def test_usage_and_config_errors_are_one_line_exit_2(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], needle: str
) -> None:
    """A bad option, a missing --env-file, a malformed variable: one line, exit 2."""
    code, lines = gamepay(tmp_path, *args, **env)
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert needle in lines[0]
    _assert_nothing_created(tmp_path)
