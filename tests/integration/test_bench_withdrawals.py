"""The withdrawals chaos benchmark runs in its quick mode: nothing sent twice, nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "withdrawals.py"


def test_bench_quick_mode() -> None:
    """--quick ends with a JSON line showing zeros for every fault figure and a verified ledger."""
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["bench"] == "withdrawals"
    assert result["withdrawals"] == 60
    assert result["transfers_executed_twice"] == 0
    assert result["lost_units"] == 0
    assert result["unknown_after_reconcile"] == 0
    assert result["ledger_verified"] is True
    assert result["sent"] + result["failed"] + result["refused"] == 60
    assert result["withdrawals_per_s"] > 0
