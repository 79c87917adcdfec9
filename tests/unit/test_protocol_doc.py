"""docs/protocol.md's error table is complete: every code the server's code can send is listed.

The scan: every ``gamepay.errors`` class that the library or the adapter constructs or names as a
value (outside ``except`` clauses and ``isinstance`` checks) can reach the adapter's dispatcher,
which answers it with its own ``code`` or, for operator-side failures, with the generic code of
``gamepay_ws.dispatch.player_facing``; plus the codes the adapter writes literally.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import gamepay.errors as errors
from gamepay_ws.dispatch import player_facing

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "gamepay", ROOT / "adapters" / "gamepay_ws"]
NOT_IN_A_REQUEST = {
    "cli", "demo", "sandbox", "testing.py", "export.py", "callback.py",
    "decisions.py", "decision_errors.py", "overview.py",
}  # fmt: skip
"""Code that never runs inside a player's request: operator commands and exports, the emulator,
start-up, the KryptoGO callback endpoint (which answers KryptoGO, not a player), and the
console's services (withdrawal decisions, the reward runs' overview)."""


def _import_everything() -> None:
    """Import every module, so error classes defined outside gamepay.errors are subclasses too."""
    for source in SOURCES:
        for path in source.rglob("*.py"):
            parts = path.relative_to(source.parent).with_suffix("").parts
            if parts[-1] == "__main__" or "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            importlib.import_module(name)


def _error_classes() -> dict[str, type[errors.GamepayError]]:
    _import_everything()
    found: dict[str, type[errors.GamepayError]] = {"GamepayError": errors.GamepayError}
    todo: list[type[errors.GamepayError]] = [errors.GamepayError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found[sub.__name__] = sub
            todo.append(sub)
    return found


def _names_used_as_values(tree: ast.AST) -> set[str]:
    """Names and attribute names in a module, except exception handlers and isinstance checks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            skip.update(id(n) for n in ast.walk(node.type))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass")
        ):
            skip.update(id(n) for arg in node.args[1:] for n in ast.walk(arg))
    used = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
    return used


def emitted_codes() -> set[str]:
    """Every error code the server's code can send to a player."""
    classes = _error_classes()
    codes: set[str] = set()
    for source in SOURCES:
        for path in source.rglob("*.py"):
            if ROOT / "gamepay" / "errors" in path.parents or set(path.parts) & NOT_IN_A_REQUEST:
                continue
            text = path.read_text()
            used = _names_used_as_values(ast.parse(text))
            codes |= {_player_code(classes[name]) for name in used & set(classes)}
            if source.name == "gamepay_ws":
                codes |= set(re.findall(r'"code":\s*"([a-z_]+)"', text))
                codes |= set(re.findall(r'^_[A-Z]+ = \(\s*"([a-z_]+)"', text, re.MULTILINE))
    return codes


def _player_code(cls: type[errors.GamepayError]) -> str:
    """The code a player gets when the dispatcher meets an error of class ``cls``."""
    generic = player_facing(cls.__new__(cls))
    return cls.code if generic is None else generic[0]


def documented_codes() -> set[str]:
    """The codes in the first column of docs/protocol.md's error table."""
    text = (ROOT / "docs" / "protocol.md").read_text()
    section = text.split("## Errors", 1)[1].split("\n## ", 1)[0]
    codes: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            codes |= set(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return codes


def test_every_emitted_code_is_documented() -> None:
    """A code the server can send but the table lacks fails here (add a row to docs/protocol.md)."""
    emitted = emitted_codes()
    expected = {"internal_error", "request_id_required", "token_rejected", "amount_range"}
    assert expected | {"payment_provider_unavailable", "outcome_unknown"} <= emitted
    assert "api_authentication" not in emitted  # operator-side detail never reaches a player
    assert emitted - documented_codes() == set()


def test_every_documented_code_exists() -> None:
    """The table names no code that nothing could send (a typo or a removed error)."""
    known = {cls.code for cls in _error_classes().values()}
    known |= {"internal_error", "payment_provider_unavailable"}
    assert documented_codes() - known == set()
