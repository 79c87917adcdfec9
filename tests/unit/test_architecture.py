"""The layout rules of docs/architecture.md, read from the source: imports and layers.

The import graph counts every import statement, also the ones inside functions and under
``TYPE_CHECKING``: a lazy import is still a dependency. ``from package import module`` counts as an
import of that module (not of the package's ``__init__``); any other name taken from a package
counts as an import of the package. ``lint-imports`` (run by ``./scripts/test``) holds the
layer contracts in pyproject.toml; ``scripts/check_sizes.py`` the 600-line limit.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "gamepay": ROOT / "gamepay",
    "gamepay_ws": ROOT / "adapters" / "gamepay_ws",
    "gamepay_admin": ROOT / "adapters" / "gamepay_admin",
}


def _modules() -> dict[str, Path]:
    """Every module of gamepay, gamepay_ws and gamepay_admin by dotted name."""
    found: dict[str, Path] = {}
    for package, directory in SOURCES.items():
        for path in directory.rglob("*.py"):
            parts = [package, *path.relative_to(directory).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """The gamepay modules that the module ``name`` imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                child = f"{target}.{alias.name}"
                if child in MODULES:
                    yield child
                elif target in MODULES:
                    yield target


GRAPH = {name: set(_imports(name, path)) - {name} for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _within(name: str, *packages: str) -> bool:
    """True when ``name`` is one of ``packages`` or inside one of them."""
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_the_import_graph_has_no_cycle() -> None:
    """No group of modules imports itself round, counting lazy and TYPE_CHECKING imports."""
    assert _cycles(GRAPH) == []


def test_core_imports_only_core_and_errors() -> None:
    """gamepay.core is the bottom layer: it imports nothing of gamepay but itself and errors."""
    upward = {
        (name, target)
        for name, targets in GRAPH.items()
        if _within(name, "gamepay.core")
        for target in targets
        if not _within(target, "gamepay.core", "gamepay.errors")
    }
    assert upward == set()


def test_only_the_top_layers_import_the_adapter_the_console_or_the_cli() -> None:
    """The adapter sits under the economy, the console over it, the CLI on top: only those
    above may import them."""
    above = {
        "gamepay_ws": (
            "gamepay_ws",
            "gamepay.economy",
            "gamepay.testing",
            "gamepay.demo",
            "gamepay.cli",
        ),
        "gamepay_admin": ("gamepay_admin", "gamepay.cli"),
        "gamepay.cli": ("gamepay.cli",),
    }
    outside = {
        (name, target)
        for name, targets in GRAPH.items()
        for target in targets
        for top, allowed in above.items()
        if _within(target, top) and not _within(name, *allowed)
    }
    assert outside == set()


def test_the_economy_is_only_reached_lazily_from_the_package() -> None:
    """``gamepay.Economy`` loads on first use: the package imports it only for type checking."""
    tree = ast.parse((SOURCES["gamepay"] / "__init__.py").read_text(encoding="utf-8"))
    eager = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gamepay.economy")
    ]
    assert eager == []


def test_the_library_never_imports_the_sandbox() -> None:
    """Only gamepay.testing, the CLI and the demo reach the sandbox (the emulator is no part)."""
    allowed = ("gamepay.sandbox", "gamepay.testing", "gamepay.cli", "gamepay.demo")
    reaching = {
        (name, target)
        for name, targets in GRAPH.items()
        if not _within(name, *allowed)
        for target in targets
        if _within(target, "gamepay.sandbox")
    }
    assert reaching == set()


TABLE_OWNERS = {
    "gamepay.store.schema.ledger": "gamepay.ledger",
    "gamepay.store.schema.payments": "gamepay.payments.repository",
    "gamepay.store.schema.withdrawals": "gamepay.withdrawals.repository",
    "gamepay.store.schema.rewards": "gamepay.rewards.repository",
    "gamepay.store.schema.events": "gamepay.bus.outbox",
    "gamepay.store.schema.audit": "gamepay.audit.log",
    "gamepay.store.schema.trades": "gamepay.inventory.trade_rows",
    "gamepay.store.schema.lots": "gamepay.ledger",
    "gamepay.store.schema.subscriptions": "gamepay.payments.renewals",
}


def test_each_area_alone_touches_its_tables() -> None:
    """A table module is imported only by its area's repository (the ledger owns its own)."""
    assert set(TABLE_OWNERS) == {m for m in MODULES if m.startswith("gamepay.store.schema.")} - {
        "gamepay.store.schema.base"
    }
    trespass = {
        (name, target)
        for name, targets in GRAPH.items()
        if not _within(name, "gamepay.store.schema")
        for target in targets
        if target in TABLE_OWNERS and not _within(name, TABLE_OWNERS[target])
    }
    assert trespass == set()


def test_the_cycle_finder_finds_cycles() -> None:
    """The finder reports a two-module and a three-module loop and leaves a chain alone."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert sorted(_cycles(graph)) == [["a", "b"], ["c", "d", "e"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_checks_see_the_whole_tree() -> None:
    """The graph is read from the real sources, lazy imports included."""
    for name in (
        "gamepay.core.money",
        "gamepay.ledger",
        "gamepay.payments",
        "gamepay_ws",
        "gamepay_admin.web",
    ):
        assert name in MODULES
    assert "gamepay.core.money" in GRAPH["gamepay.core.assets"]
