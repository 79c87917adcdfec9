"""Payments: purchases, top-ups and buys with a balance, callbacks, polling, reconciliation.

```python
from gamepay.payments import Payments, PaymentsConfig, Catalog, CatalogItem, Grant
```
"""

from gamepay.core.intents import OrderKind, OrderStatus
from gamepay.payments.callbacks import CallbackResponse
from gamepay.payments.catalog import BalancePrice, Catalog, CatalogItem, Grant
from gamepay.payments.orders import Order
from gamepay.payments.poller import PollReport
from gamepay.payments.reconcile import Mismatch, ReconcileReport
from gamepay.payments.service import (
    ApplyOutcome,
    ApplyResult,
    PaymentInstructions,
    Payments,
    PaymentsConfig,
)
from gamepay.payments.settlement import MoneyPolicy

__all__ = [
    "ApplyOutcome",
    "ApplyResult",
    "BalancePrice",
    "CallbackResponse",
    "Catalog",
    "CatalogItem",
    "Grant",
    "Mismatch",
    "MoneyPolicy",
    "Order",
    "OrderKind",
    "OrderStatus",
    "PaymentInstructions",
    "Payments",
    "PaymentsConfig",
    "PollReport",
    "ReconcileReport",
]
