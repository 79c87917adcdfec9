"""The demo's result: counts of what happened, the checks that make it a pass, and its JSON.

``DemoSummary.to_json()`` is the last line ``gamepay demo --quick`` prints; ``problems()`` lists
every check that failed (the demo exits 0 only when there are none).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FINAL_ORDER_STATUSES", "DemoSummary"]

FINAL_ORDER_STATUSES = frozenset(
    {"success", "expired", "insufficient_refunded", "failed", "completed"}
)
"""Order statuses nothing moves on from (``insufficient_not_refunded`` awaits a refund,
``creating`` and ``pending`` await the API)."""


@dataclass(slots=True)
class DemoSummary:
    """What the demo did and found; every field is JSON-ready."""

    players: int = 0
    orders: int = 0
    orders_by_status: dict[str, int] = field(default_factory=dict)
    paid: int = 0
    granted: int = 0
    top_ups: int = 0
    balance_purchases: int = 0
    withdrawals: int = 0
    withdrawals_by_status: dict[str, int] = field(default_factory=dict)
    rewards_paid: int = 0
    reward_total: str = "0"
    callbacks: int = 0
    callbacks_duplicated: int = 0
    callbacks_dropped: int = 0
    reconcile_mismatches: int = 0
    transfers: int = 0
    ledger_verified: bool = False
    storefront_url: str | None = None
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def open_orders(self) -> int:
        """Orders not in a final status."""
        return sum(n for s, n in self.orders_by_status.items() if s not in FINAL_ORDER_STATUSES)

    def problems(self) -> list[str]:
        """Every failed check: ledger not verified, an order not final, grants != paid, errors."""
        found = []
        if not self.ledger_verified:
            found.append("the ledger did not verify")
        if self.open_orders:
            found.append(f"{self.open_orders} order(s) not in a final status")
        if self.granted != self.paid:
            found.append(f"granted {self.granted} != paid {self.paid}")
        found.extend(self.errors)
        return found

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems()

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain data, with ``ok`` added."""
        data = asdict(self)
        data["ok"] = self.ok
        return data

    def to_json(self) -> str:
        """One line of JSON."""
        return json.dumps(self.as_dict(), sort_keys=False, separators=(", ", ": "))
