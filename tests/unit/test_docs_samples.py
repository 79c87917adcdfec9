"""Every ```python sample in README.md and docs/*.md runs, in order, one namespace per file."""

from __future__ import annotations

import ast
import asyncio
import inspect
import logging
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```\s*$", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """The python fenced blocks of ``path`` with the line each starts on."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in _BLOCK.finditer(text)]


def test_blocks_are_found() -> None:
    """The extractor finds the README's samples (so a broken regex cannot pass silently)."""
    assert len(python_blocks(ROOT / "README.md")) >= 1


@pytest.mark.parametrize("path", DOCS, ids=[p.relative_to(ROOT).as_posix() for p in DOCS])
def test_doc_samples_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each sample of one document in a temporary directory; top-level ``await`` allowed."""
    blocks = python_blocks(path)
    if not blocks:
        pytest.skip(f"{path.name} has no python samples")
    monkeypatch.chdir(tmp_path)
    logger = logging.getLogger("gamepay")
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))
    monkeypatch.setattr(logger, "level", logger.level)
    monkeypatch.setattr(logger, "propagate", logger.propagate)
    namespace: dict[str, object] = {"__name__": "__doc_sample__"}
    with asyncio.Runner() as runner:
        for line, source in blocks:
            name = f"{path.relative_to(ROOT)}:{line}"
            code = compile(
                "\n" * (line - 1) + source, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            )
            result = eval(code, namespace)
            if inspect.iscoroutine(result):
                runner.run(result)


def test_every_gamepay_command_in_the_docs_exists() -> None:
    """Each `gamepay ...` line of a bash block in README/docs names a real CLI command."""
    import typer.main

    from gamepay.cli.main import app

    root = typer.main.get_command(app)
    bash = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
    checked = 0
    for path in DOCS:
        for block in bash.findall(path.read_text(encoding="utf-8")):
            for line in block.splitlines():
                words = line.split("#", 1)[0].split()
                if not words or words[0] != "gamepay":
                    continue
                # typer vendors its own click: groups are recognised by get_command.
                command: Any = root
                for word in words[1:]:
                    if word.startswith("-") or not hasattr(command, "get_command"):
                        break
                    sub = command.get_command(command.context_class(command), word)
                    if sub is None:
                        break
                    command = sub
                assert command is not root, f"{path.name}: {line!r} names no command"
                if hasattr(command, "get_command") and command.name != "sandbox":
                    raise AssertionError(f"{path.name}: {line!r} stops at a group")
                checked += 1
    assert checked >= 10
