"""scripts/check_sizes.py: the 600-line module limit the lead wires into scripts/test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts.check_sizes import oversized

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_sizes.py"


def _module(path: Path, lines: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x = 1\n" * lines)
    return path


def test_only_modules_over_the_limit_are_reported(tmp_path: Path) -> None:
    """A module of exactly the limit passes; one line more is reported with its count."""
    _module(tmp_path / "pkg" / "ok.py", 600)
    big = _module(tmp_path / "pkg" / "sub" / "big.py", 601)
    _module(tmp_path / "pkg" / "notes.txt", 900)
    assert oversized([tmp_path / "pkg"]) == [(big, 601)]


def test_the_script_prints_offenders_and_fails(tmp_path: Path) -> None:
    """Run as a script: offenders on stdout, exit status 1; a clean tree exits 0."""
    _module(tmp_path / "big.py", 12)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--max", "10", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "big.py: 12 lines (max 10)" in done.stdout
    clean = subprocess.run(
        [sys.executable, str(SCRIPT), "--max", "12", str(tmp_path)],
        capture_output=True,
        check=False,
    )
    assert clean.returncode == 0
