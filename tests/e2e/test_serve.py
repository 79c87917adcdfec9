"""`gamepay serve` as a real process: websocket, callbacks from the sandbox, /metrics, SIGTERM."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from gamepay.demo.players import PlayerClient
from gamepay.sandbox import SandboxConfig
from gamepay.testing import running_sandbox, sqlite_url
from gamepay_ws import issue_token
from tests.support.catalog import write_catalog
from tests.support.serve_process import serve_env, serving

API_KEY = "sk_serve_test_never_logged_77"
WS_SECRET = "ws-secret-for-the-serve-test-000"


async def test_serve_end_to_end(tmp_path: Path) -> None:
    """On ONE port: a player buys over the websocket at /ws, the sandbox calls back, the grant is
    pushed; a standalone websocket server (GAMEPAY_WS_PORT) serves the same players; metrics
    count it; DEBUG JSON logs never contain the API key; without GAMEPAY_ADMIN_TOKEN there is no
    console (404); SIGTERM stops it cleanly."""
    catalog = write_catalog(tmp_path / "catalog.json")
    config = SandboxConfig(api_key=API_KEY, callback_retry_base=0.05)
    async with running_sandbox(config) as sandbox:
        env = serve_env(
            sandbox,
            WS_SECRET,
            database_url=sqlite_url(tmp_path / "serve.db"),
            catalog_file=str(catalog),
            ws_port="0",  # the optional standalone server too
            log_level="DEBUG",
        )
        async with serving(env) as served:
            standalone = re.search(r"standalone websocket (ws://\S+?)\)", served.line)
            assert standalone, served.line
            assert served.ws_url == served.http_url.replace("http", "ws", 1) + "/ws"
            async with httpx.AsyncClient(base_url=served.http_url) as http:
                assert (await http.get("/healthz")).status_code == 200
                assert (await http.get("/admin/")).status_code == 404  # no GAMEPAY_ADMIN_TOKEN
                page = await http.get("/")  # the storefront, from the installed package
                assert page.status_code == 200
                assert 'import { GamepayClient } from "./gamepay.js"' in page.text
                client = await http.get("/gamepay.js")  # the official client, beside the page
                assert client.status_code == 200
                assert "export class GamepayClient" in client.text
                token = issue_token("alice", WS_SECRET, 300)
                async with PlayerClient(served.ws_url, token) as alice:
                    buy = await alice.request("buy_with_crypto", sku="sword", request_id="b1")
                    sandbox.sandbox.pay(buy["payment_intent_id"], "exact")
                    assert await alice.wait_for_push(
                        "asset_granted", order_id=buy["order_id"], within=10
                    )
                async with PlayerClient(standalone.group(1), token) as again:
                    assert (await again.request("ping"))["type"] == "ping_result"
                async with connect(served.ws_url) as raw:  # protocol 2's refusals, on /ws
                    await raw.send('{"type":"ping","id":"\\ud800"}')
                    refused = json.loads(await raw.recv())
                    assert (refused["id"], refused["code"]) == (None, "bad_message")
                    await raw.send(json.dumps({"type": "authenticate", "id": 1, "token": token}))
                    assert json.loads(await raw.recv())["protocol"] == 2  # same connection
                    await raw.send('{"type":"buy_with_balance","id":2,"sku":"sword"}')
                    assert json.loads(await raw.recv())["code"] == "request_id_required"
                metrics = (await http.get("/metrics")).text
            assert 'gamepay_callback_seconds_count{outcome="2xx"}' in metrics
            assert 'gamepay_intent_status_total{status="success"} 1.0' in metrics
            assert 'gamepay_ledger_transfers_total{kind="grant"} 1.0' in metrics
            assert "gamepay_ws_connections_accepted_total 3.0" in metrics
    err = served.stderr
    logs = [json.loads(row) for row in err.splitlines() if row.startswith("{")]
    assert logs, err[-2000:]
    assert API_KEY not in err
    callback_lines = [row for row in logs if row.get("intent_id") == buy["payment_intent_id"]]
    assert callback_lines, "no log line carried the callback's intent id"
    assert all("request_id" in row for row in callback_lines)
