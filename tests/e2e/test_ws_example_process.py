"""``python -m examples.shop`` runs as a process: it serves the page, tokens and the websocket."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import httpx

from tests.support.processes import interrupt
from tests.support.ws_client import open_client

ROOT = Path(__file__).resolve().parents[2]


async def test_example_shop_runs_as_a_module() -> None:
    """Start the module on free ports, use the page's endpoints and the websocket, stop it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "adapters")])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "examples.shop",
        "--port",
        "0",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        found = re.search(r"open (http://\S+)/ +\(websocket (ws://\S+)\)", line)
        assert found, line
        http_url, ws_url = found.groups()
        async with httpx.AsyncClient(base_url=http_url) as http:
            page = await http.get("/")
            assert page.status_code == 200
            assert "gamepay demo shop" in page.text
            session = (await http.get("/demo/session", params={"player": "visitor"})).json()
            assert session["ws_url"] == ws_url == f"{http_url.replace('http', 'ws', 1)}/ws"
            bad = await http.post("/kryptogo/callback", content=b"not json")
            assert bad.status_code == 400
        async with open_client(ws_url, session["token"]) as client:
            balances = (await client.ok("balance"))["balances"]
            assert {"asset": "currency:gold", "available": "1000"}.items() <= balances[0].items()
            await client.send_raw(json.dumps({"type": "ping", "id": 1}))
            assert (await client.next_reply())["type"] == "ping_result"
    finally:
        await interrupt(proc)
    assert proc.returncode == 0
