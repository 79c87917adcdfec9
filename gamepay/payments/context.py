"""``PaymentsContext``: what every payments step depends on, in one explicit record.

The store, the ledger, the KryptoGO client, the catalog, the configuration, the clock, the event
publisher, the order id maker and the test fault hook. ``apply``, ``create``, ``callbacks``,
``poller`` and ``reconcile`` take one of these, never the ``Payments`` facade.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from gamepay.errors import InvalidInput
from gamepay.payments.config import PaymentsConfig
from gamepay.payments.decide import Policy

if TYPE_CHECKING:
    from gamepay.core.events import EventPublisher
    from gamepay.kryptogo.client import KryptoGOClient
    from gamepay.ledger import Ledger
    from gamepay.payments.catalog import Catalog
    from gamepay.store import Store

__all__ = ["Clock", "FaultHook", "PaymentsContext"]

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime."""

FaultHook = Callable[[str], None]
"""Test hook called at named points (``"apply.after_ledger"``, ...); raising there is a crash."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_order_id() -> str:
    return f"ord_{secrets.token_hex(12)}"


@dataclass(eq=False)
class PaymentsContext:
    """The dependencies of the payments steps (``fault_hook`` may be swapped by tests)."""

    store: Store
    ledger: Ledger
    client: KryptoGOClient
    catalog: Catalog
    config: PaymentsConfig = field(default_factory=PaymentsConfig)
    clock: Clock = _utc_now
    publisher: EventPublisher | None = None
    new_order_id: Callable[[], str] = _new_order_id
    fault_hook: FaultHook | None = None

    def now(self) -> datetime:
        """The clock's time (aware UTC); InvalidInput for a naive clock."""
        now = self.clock()
        if now.tzinfo is None:
            raise InvalidInput("the payments clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    def hook(self, point: str) -> None:
        """Call the fault hook at ``point`` (tests simulate crashes by raising there)."""
        if self.fault_hook is not None:
            self.fault_hook(point)

    @cached_property
    def policy(self) -> Policy:
        """The configuration's decision policy."""
        return self.config.policy
