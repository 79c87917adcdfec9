"""Fail when a module under gamepay/ or adapters/ is over the house limit of 600 lines.

Usage: ``python scripts/check_sizes.py [--max 600] [ROOT ...]`` (roots default to gamepay and
adapters, relative to the repository). Prints each offender as ``path: N lines`` and exits 1 if
there is any, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["MAX_LINES", "main", "oversized"]

MAX_LINES = 600
"""The most lines a module may have (docs/architecture.md: modules are small)."""

REPO = Path(__file__).resolve().parent.parent


def oversized(roots: list[Path], limit: int = MAX_LINES) -> list[tuple[Path, int]]:
    """Every ``.py`` file under ``roots`` with more than ``limit`` lines, with its line count."""
    found: list[tuple[Path, int]] = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if any(part.startswith(".") for part in path.parts):
                continue
            with path.open("rb") as file:
                lines = sum(1 for _ in file)
            if lines > limit:
                found.append((path, lines))
    return found


def main(argv: list[str] | None = None) -> int:
    """Print the oversized modules; 1 when there is any, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=MAX_LINES, help="most lines allowed")
    parser.add_argument("roots", nargs="*", type=Path, help="folders to check")
    args = parser.parse_args(argv)
    roots = args.roots or [REPO / "gamepay", REPO / "adapters"]
    offenders = oversized(roots, args.max)
    for path, lines in offenders:
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        print(f"{shown}: {lines} lines (max {args.max})")
    if offenders:
        print(f"{len(offenders)} module(s) over {args.max} lines", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
