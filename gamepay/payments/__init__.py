"""Payments: purchases, top-ups and buys with a balance, callbacks, polling, reconciliation.

Imports point one way: ``records`` (data) < ``decide`` (pure rules, over the transition table
of ``gamepay.core.intents``) < ``repository``, ``events``, ``grants`` < ``apply`` (read ->
decide -> execute) < ``create`` < ``callbacks``, ``poller``, ``reconcile`` < ``service`` (the
``Payments`` facade). Each step takes a ``PaymentsContext`` (``context``), never the facade.

```python
from gamepay.payments import Payments, PaymentsConfig, Catalog, CatalogItem, Grant
```
"""

from gamepay.core.intents import OrderKind, OrderStatus
from gamepay.payments.callbacks import CallbackResponse
from gamepay.payments.catalog import BalancePrice, Catalog, CatalogItem, Grant, load_catalog
from gamepay.payments.config import PaymentsConfig
from gamepay.payments.decide import MoneyPolicy
from gamepay.payments.errors import OfferUnavailable, PurchaseLimitReached
from gamepay.payments.poller import PollReport
from gamepay.payments.reconcile import Mismatch, MismatchOutcome, ReconcileReport, StuckReport
from gamepay.payments.records import ApplyOutcome, ApplyResult, Order, PaymentInstructions
from gamepay.payments.service import Payments

__all__ = [
    "ApplyOutcome",
    "ApplyResult",
    "BalancePrice",
    "CallbackResponse",
    "Catalog",
    "CatalogItem",
    "Grant",
    "Mismatch",
    "MismatchOutcome",
    "MoneyPolicy",
    "OfferUnavailable",
    "Order",
    "OrderKind",
    "OrderStatus",
    "PaymentInstructions",
    "Payments",
    "PaymentsConfig",
    "PollReport",
    "PurchaseLimitReached",
    "ReconcileReport",
    "StuckReport",
    "load_catalog",
]
