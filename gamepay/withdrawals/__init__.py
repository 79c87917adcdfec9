"""Withdrawals: player payouts as asset_pro transfers, held first, never sent twice, never lost.

```python
from gamepay.withdrawals import Withdrawals, WithdrawalsConfig
```

Modules, imports pointing down: ``config`` and ``records`` (plain values) < ``repository``
(every statement on the withdrawals' tables) < ``service`` (``Withdrawals``: the decisions of
``gamepay.core.withdrawals`` applied in one transaction per move).
"""

from gamepay.withdrawals.config import WithdrawalsConfig
from gamepay.withdrawals.records import (
    ExecutedTransfer,
    ExecutedTransferLike,
    Withdrawal,
    WithdrawalReconcileReport,
    WithdrawalRecoveryReport,
)
from gamepay.withdrawals.service import TransferClient, Withdrawals

__all__ = [
    "ExecutedTransfer",
    "ExecutedTransferLike",
    "TransferClient",
    "Withdrawal",
    "WithdrawalReconcileReport",
    "WithdrawalRecoveryReport",
    "Withdrawals",
    "WithdrawalsConfig",
]
