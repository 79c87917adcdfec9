"""The inventory service for game-server code: grants, spends and atomic multi-operations.

```python
inventory = Inventory(ledger, publisher=bus)
await inventory.grant("alice", "currency:gold", 5, "quest reward", "quest-7")
await inventory.execute(
    "alice",
    [Operation.spend("item:wood", 3), Operation.spend("currency:gold", 1),
     Operation.grant("item:sword", 1)],
    "craft-42",
    reason="craft sword",
)
```
Player-to-player trades are ``Trades`` (``gamepay.inventory.trades``). See
``docs/inventory.md``, ``gamepay.inventory.service`` and ``gamepay.inventory.trades`` for the
guarantees.
"""

from gamepay.inventory.errors import InsufficientAsset, OperationConflict
from gamepay.inventory.operations import Operation, OperationKind, posting_id
from gamepay.inventory.service import Inventory, PostingResult
from gamepay.inventory.trade_rows import Trade, TradeLine
from gamepay.inventory.trades import TradeResult, Trades

__all__ = [
    "InsufficientAsset",
    "Inventory",
    "Operation",
    "OperationConflict",
    "OperationKind",
    "PostingResult",
    "Trade",
    "TradeLine",
    "TradeResult",
    "Trades",
    "posting_id",
]
