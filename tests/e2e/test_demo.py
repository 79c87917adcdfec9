"""`gamepay demo` end to end, as ./scripts/demo runs it: a real subprocess, real sockets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gamepay.demo.summary import FINAL_ORDER_STATUSES

ROOT = Path(__file__).resolve().parents[2]


def _run_demo(tmp_path: Path, *args: str, ci: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEPAY_")}
    env.pop("CI", None)
    if ci:
        env["CI"] = "1"
    env["COLUMNS"] = "120"
    return subprocess.run(
        [sys.executable, "-m", "gamepay.cli.main", "demo", "--dir", str(tmp_path), *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )


@pytest.mark.slow
def test_quick_demo_summary(tmp_path: Path) -> None:
    """--quick exits 0 with a JSON last line: ledger verified, every order final, grants == paid."""
    result = _run_demo(tmp_path, "--quick")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    summary = json.loads(last)
    for key in ("orders", "paid", "granted", "withdrawals", "rewards_paid", "ledger_verified"):
        assert key in summary, key
    assert summary["ledger_verified"] is True
    assert summary["orders"] > 0
    assert sum(summary["orders_by_status"].values()) == summary["orders"]
    assert set(summary["orders_by_status"]) <= FINAL_ORDER_STATUSES, summary["orders_by_status"]
    assert summary["granted"] == summary["paid"] > 0
    assert summary["withdrawals"] > 0
    assert summary["rewards_paid"] > 0
    assert summary["missing"] == []
    assert summary["errors"] == []
    # Every behaviour showed up: late, short and never-paid orders end up expired/refunded.
    assert summary["orders_by_status"].get("insufficient_refunded", 0) >= 1
    assert summary["orders_by_status"].get("expired", 0) >= 2
    assert summary["seconds"] < 60
    assert "ledger verified" in result.stdout
    # The hint is one line (never wrapped inside the path) that runs as printed.
    hints = [line for line in result.stdout.splitlines() if line.startswith("explore it: ")]
    assert len(hints) == 1, result.stdout[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEPAY_")}
    explored = subprocess.run(
        hints[0].removeprefix("explore it: "),
        shell=True,  # the point: the printed command, pasted into a shell
        cwd=ROOT,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert explored.returncode == 0, explored.stdout + explored.stderr
    assert "balances of player-001" in explored.stdout


@pytest.mark.slow
def test_full_demo_exits_when_stdin_is_not_a_terminal(tmp_path: Path) -> None:
    """Without --quick and without CI, a non-TTY stdin still ends the demo after the summary."""
    result = _run_demo(tmp_path, "--players", "9", ci=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "gamepay demo summary" in result.stdout
    assert "storefront" in result.stdout
    assert "until Ctrl-C" not in result.stdout


@pytest.mark.slow
def test_serving_demo_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """With --serve the storefront stays up after the summary; one SIGINT ends it with exit 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEPAY_")}
    env["COLUMNS"] = "120"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gamepay.cli.main",
            "demo",
            "--players",
            "3",
            "--serve",
            "--dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if "until Ctrl-C" in line:
                break
        assert any("until Ctrl-C" in line for line in seen), "".join(seen)[-2000:]
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err
