"""The KryptoGO client benchmark runs in its quick mode and ends with one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "kryptogo_client.py"


def test_bench_quick_mode() -> None:
    """--quick finishes and prints positive timings and a ratio as its last line."""
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["bench"] == "kryptogo_client"
    assert result["raw_httpx_us_per_call"] > 0
    assert result["client_us_per_call"] > 0
    assert result["client_over_raw"] > 0
