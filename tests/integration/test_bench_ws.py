"""The websocket benchmark runs end to end: a players' process buying over real sockets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ws.py"


def test_bench_short_run() -> None:
    """A short run ends with one JSON line: every buy went through and the ledger verifies."""
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--players", "20", "--duration", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["players"] == 20
    assert result["buys"] > 0
    assert result["ledger_verified"] is True
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["ops_per_s"] > 0
    assert result["echo_ratio"] > 0
    assert result["saturated_buy_ops_per_s"] > 0
    assert result["loop"] in ("uvloop", "asyncio")
