"""The double-entry ledger: accounts, transfers, atomic batches, holds, balances, history, verify.

The only owner of its tables: other areas read through ``Ledger`` and ``gamepay.ledger.reads``.

```python
ledger = Ledger(store)
await ledger.register_asset(Currency("gold"))
await ledger.open_account(player_account("alice"))
await ledger.transfer("t-1", TransferSpec(issuer, player_account("alice"), "currency:gold", 100))
```
"""

from gamepay.ledger.ledger import Clock, Ledger, hold_transfer_id
from gamepay.ledger.records import (
    Balance,
    BatchRecord,
    HistoryPage,
    HoldRecord,
    HoldStatus,
    TransferPhase,
    TransferRecord,
    VerifyReport,
)
from gamepay.ledger.rows import asset_code

__all__ = [
    "Balance",
    "BatchRecord",
    "Clock",
    "HistoryPage",
    "HoldRecord",
    "HoldStatus",
    "Ledger",
    "TransferPhase",
    "TransferRecord",
    "VerifyReport",
    "asset_code",
    "hold_transfer_id",
]
