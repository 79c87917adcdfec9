"""Services: payments (purchases, top-ups, callbacks, polling, reconciliation), withdrawals, outbox.

```python
from gamepay.services import Payments, PaymentsConfig, Catalog, CatalogItem, Grant
```
"""

from gamepay.services.callbacks import CallbackResponse
from gamepay.services.catalog import BalancePrice, Catalog, CatalogItem, Grant
from gamepay.services.orders import Order, OrderKind, OrderStatus
from gamepay.services.payments import (
    ApplyOutcome,
    ApplyResult,
    PaymentInstructions,
    Payments,
    PaymentsConfig,
)
from gamepay.services.poller import PollReport
from gamepay.services.reconcile import Mismatch, ReconcileReport
from gamepay.services.settlement import MoneyPolicy
from gamepay.services.withdrawals import Withdrawal, Withdrawals, WithdrawalsConfig

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
    "Withdrawal",
    "Withdrawals",
    "WithdrawalsConfig",
]
