"""The demo main job: a sandbox, a shop, a crowd of simulated players, and a verified ledger."""

from gamepay.demo.scenario import Behaviour, PlayerPlan, Step, plan_players
from gamepay.demo.summary import FINAL_ORDER_STATUSES, DemoSummary

__all__ = [
    "FINAL_ORDER_STATUSES",
    "Behaviour",
    "DemoSummary",
    "PlayerPlan",
    "Step",
    "plan_players",
]
