"""Scheduled loyalty rewards: programs, periods, set-based computation, exactly-once runs.

```python
program = load_program("loyalty.toml")          # or Program(name=..., asset=..., ...)
runner = RewardRunner(store, ledger, program)
reports = await runner.run_due()                # every closed, unpaid period, exactly once
```
"""

from gamepay.rewards.periods import Period, Schedule, closed_periods, period_containing
from gamepay.rewards.preview import Payout, PreviewTotals, iter_payouts, preview, write_preview
from gamepay.rewards.programs import BPS, Activity, Program, Tier, load_program, reward_for
from gamepay.rewards.reports import RunProgress, RunReport
from gamepay.rewards.runner import STEPS, RewardRunner, StepHook, reward_batch_id, runners_for

__all__ = [
    "BPS",
    "STEPS",
    "Activity",
    "Payout",
    "Period",
    "PreviewTotals",
    "Program",
    "RewardRunner",
    "RunProgress",
    "RunReport",
    "Schedule",
    "StepHook",
    "Tier",
    "closed_periods",
    "iter_payouts",
    "load_program",
    "period_containing",
    "preview",
    "reward_batch_id",
    "reward_for",
    "runners_for",
    "write_preview",
]
