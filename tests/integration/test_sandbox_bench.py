"""The sandbox benchmark runs in its quick mode and ends with one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sandbox.py"


def test_sandbox_bench_quick() -> None:
    """`python bench/sandbox.py --quick` finishes and prints its figures as JSON last."""
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == "sandbox"
    assert result["get_over_bare"] > 0
    assert result["callback_us"] > 0
