"""A real `gamepay serve` process for end-to-end tests: its environment, its URLs, its stop."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from gamepay.sandbox import RunningSandbox
from tests.support.processes import exited

__all__ = ["Served", "serve_env", "serving"]

ROOT = Path(__file__).resolve().parents[2]


def serve_env(sandbox: RunningSandbox, ws_secret: str, **settings: str) -> dict[str, str]:
    """This process's environment without any GAMEPAY_ variable, plus the sandbox's KryptoGO
    settings, the websocket secret, an HTTP server on port 0 and the given GAMEPAY_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEPAY_")}
    env.update(
        {
            "GAMEPAY_KRYPTOGO_BASE_URL": sandbox.url,
            "GAMEPAY_KRYPTOGO_CLIENT_ID": sandbox.client_id,
            "GAMEPAY_KRYPTOGO_API_KEY": sandbox.api_key,
            "GAMEPAY_KRYPTOGO_ORIGIN": sandbox.origin,
            "GAMEPAY_WS_TOKEN_SECRET": ws_secret,
            "GAMEPAY_HTTP_PORT": "0",
            "COLUMNS": "400",
        }
    )
    env.update({f"GAMEPAY_{name.upper()}": value for name, value in settings.items()})
    return env


@dataclass
class Served:
    """A started `gamepay serve`: its first stdout line, its URLs, and its stderr once stopped."""

    line: str
    ws_url: str
    http_url: str
    stderr: str = ""


@asynccontextmanager
async def serving(env: dict[str, str]) -> AsyncIterator[Served]:
    """Start `gamepay serve` and wait for its start-up line; SIGTERM at the end, where it must
    exit 0 (checked when the body succeeded); its stderr is then in ``Served.stderr``."""
    proc = await asyncio.create_subprocess_exec(
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
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        ws_url = re.search(r"websocket (ws://\S+?),", line)
        http_url = re.search(r"http (http://\S+) ", line)
        assert ws_url, line
        assert http_url, line
        served = Served(line, ws_url.group(1), http_url.group(1))
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        output = asyncio.ensure_future(proc.communicate())
        if not await exited(proc):  # waited for while it works, however slowly
            proc.kill()
        _, err = await output
    served.stderr = err.decode()
    assert proc.returncode == 0, served.stderr[-2000:]
