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
See ``docs/inventory.md`` and ``gamepay.inventory.service`` for the guarantees.
"""

from gamepay.inventory.errors import InsufficientAsset, OperationConflict
from gamepay.inventory.operations import Operation, OperationKind, posting_id
from gamepay.inventory.service import Inventory, PostingResult

__all__ = [
    "InsufficientAsset",
    "Inventory",
    "Operation",
    "OperationConflict",
    "OperationKind",
    "PostingResult",
    "posting_id",
]
