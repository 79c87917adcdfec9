"""Withdrawals: player payouts as asset_pro transfers, held first, never sent twice, never lost.

```python
from gamepay.withdrawals import Withdrawals, WithdrawalsConfig
```
"""

from gamepay.withdrawals.service import Withdrawal, Withdrawals, WithdrawalsConfig

__all__ = ["Withdrawal", "Withdrawals", "WithdrawalsConfig"]
