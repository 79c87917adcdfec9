"""`gamepay sandbox` over real HTTP: the trigger verbs against a served sandbox, and `serve`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gamepay.cli.main import app
from gamepay.sandbox import SandboxConfig
from gamepay.testing import running_sandbox

CREATE = "/v1/studio/api/payment/intent"


async def invoke(*args: str) -> tuple[int, str]:
    """Run the CLI in a thread (it calls the sandbox this loop serves); exit code and output."""
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.output


async def test_trigger_verbs_drive_a_running_sandbox() -> None:
    """pay/refund/advance/fund/transfers/arm/intents act on the sandbox behind --url."""
    config = SandboxConfig(seed=2, start_time=1_750_000_000, frozen_clock=True)
    async with running_sandbox(config) as served:
        sandbox = served.sandbox
        short = sandbox.create_intent(fiat_amount="65", fiat_currency="TWD").payment_intent_id
        exact = sandbox.create_intent(fiat_amount="65", fiat_currency="TWD").payment_intent_id
        url = ["--url", served.url]

        code, out = await invoke("sandbox", "pay", short, "--short", *url)
        assert code == 0, out
        assert json.loads(out)["status"] == "insufficient_not_refunded"
        code, out = await invoke("sandbox", "refund", short, *url)
        assert json.loads(out)["refund_amount"] == "1"
        code, out = await invoke("sandbox", "pay", exact, "--amount", "2", *url)
        assert json.loads(out)["status"] == "success"

        code, out = await invoke("sandbox", "advance", "--seconds", "60", *url)
        assert json.loads(out)["now"] == 1_750_000_060
        code, out = await invoke("sandbox", "fund", "arb", "USDT", "12.5", *url)
        assert code == 0
        assert sandbox.balance("arb", "USDT") == 12_500_000
        code, out = await invoke("sandbox", "arm", "transfer", "--mode", "504", *url)
        assert sandbox.plan.armed()["transfer"] == ["504"]
        code, out = await invoke("sandbox", "transfers", *url)
        assert json.loads(out)["count"] == 0
        code, out = await invoke("sandbox", "intents", *url)
        assert len(json.loads(out)) == 2
        code, out = await invoke("sandbox", "faults", "--drop-rate", "0.5", "--seed", "3", *url)
        assert code == 0, out
        assert sandbox.faults.drop_rate == 0.5
        assert sandbox.faults.seed == 3
        code, out = await invoke("sandbox", "faults", "--drop-rate", "2", *url)
        assert code != 0
        assert sandbox.faults.drop_rate == 0.5

        code, out = await invoke("sandbox", "refund", exact, *url)
        assert code == 1
        assert "4090" in out
        code, out = await invoke("sandbox", "pay", "pi_nope", *url)
        assert code == 1
        assert "4006" in out
        code, out = await invoke("sandbox", "pay", exact, "--short", "--excess", *url)
        assert code != 0


async def test_verbs_report_an_unreachable_sandbox() -> None:
    """With nothing listening, a verb exits 1 (a problem found, as every command) with a message."""
    code, out = await invoke("sandbox", "intents", "--url", "http://127.0.0.1:9")
    assert code == 1
    assert "cannot reach" in out


@pytest.mark.parametrize(
    ("argv", "window"),
    [(["serve", "--port", "0", "--config", "CONFIG"], 60), (["--port", "0"], 900)],
)
def test_serve_prints_credentials_and_serves(argv: list[str], window: int, tmp_path: Path) -> None:
    """`gamepay sandbox serve` binds 127.0.0.1, prints its env credentials, answers, stops."""
    config = tmp_path / "sandbox.json"
    config.write_text(json.dumps({"deadline_seconds": 60, "seed": 9}))
    argv = [str(config) if arg == "CONFIG" else arg for arg in argv]
    env = {
        **os.environ,
        "GAMEPAY_SANDBOX_CLIENT_ID": "cli-client",
        "GAMEPAY_SANDBOX_API_KEY": "cli-key",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gamepay.cli.main", "sandbox", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(3)]
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner[0])
        assert match, banner
        assert "cli-client" in banner[1]
        assert "cli-key" in banner[2]
        url = match.group(1)
        headers = {"X-Client-ID": "cli-client", "X-STUDIO-API-KEY": "cli-key", "Origin": "x"}
        body = {"fiat_amount": "1", "fiat_currency": "USD"}
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.post(url + CREATE, json=body, headers=headers)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        created = response.json()["data"]
        assert created["payment_deadline"] - created["created_at"] == window
        wrong = httpx.get(
            url + "/v1/studio/api/payment/intents", headers={**headers, "X-STUDIO-API-KEY": "no"}
        )
        assert wrong.json()["code"] == 4002
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def test_serve_on_a_busy_port_exits_cleanly() -> None:
    """A port already in use is a one-line error and exit code 1, not a traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["sandbox", "serve", "--port", str(port)])
    assert result.exit_code == 1
    assert "cannot listen" in result.output
