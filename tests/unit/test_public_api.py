"""The public surface re-exported from gamepay is pinned, and importing it starts no server."""

from __future__ import annotations

import json
import subprocess
import sys

import gamepay

SURFACE = {
    "MAX_AMOUNT",
    "AccountKind",
    "Asset",
    "Balance",
    "BalancePrice",
    "Catalog",
    "CatalogItem",
    "Currency",
    "Economy",
    "EventBus",
    "FiatCurrency",
    "GamepayError",
    "Grant",
    "InProcessBus",
    "Item",
    "KryptoGOClient",
    "Ledger",
    "PaymentInstructions",
    "PaymentIntent",
    "PaymentStatus",
    "Payments",
    "PaymentsConfig",
    "PostgresBus",
    "Program",
    "RetryPolicy",
    "RewardRunner",
    "RunReport",
    "Schedule",
    "Store",
    "Tier",
    "Token",
    "TransferKind",
    "TransferRequest",
    "TransferResult",
    "TransferSpec",
    "Withdrawal",
    "WithdrawalStatus",
    "Withdrawals",
    "WithdrawalsConfig",
    "check_amount",
    "errors",
    "format_amount",
    "load_program",
    "parse_amount",
    "player_account",
}
"""What ``from gamepay import *`` gives game-server code; the sandbox is not part of it."""

SERVER_MODULES = (
    "gamepay.sandbox",
    "gamepay.testing",
    "uvicorn",
    "starlette",
    "websockets",
    "prometheus_client",
    "typer",
    "asyncpg",
    "eth_utils",
    "gamepay_ws",
    "gamepay.cli",
    "gamepay.metrics",
)
"""Modules that serve something, or belong to an extra: ``import gamepay`` loads none of them
(the core install has none of them; eth-utils is not a dependency at all)."""


def test_all_names_resolve() -> None:
    """Every name in gamepay.__all__ exists and __all__ is sorted without duplicates."""
    for name in gamepay.__all__:
        assert hasattr(gamepay, name), name
    assert len(set(gamepay.__all__)) == len(gamepay.__all__)


def test_surface_is_pinned() -> None:
    """gamepay.__all__ is exactly the pinned surface: a change to it is a deliberate one."""
    assert set(gamepay.__all__) == SURFACE


def test_import_loads_no_server() -> None:
    """A fresh ``import gamepay`` loads no server, no extra's package and not the sandbox."""
    script = (
        "import json, sys, gamepay; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({SERVER_MODULES!r}))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
