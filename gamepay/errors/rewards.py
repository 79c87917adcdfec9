"""Refused or stopped reward runs (``RewardError``)."""

from __future__ import annotations

from typing import Any

from gamepay.errors.base import GamepayError

__all__ = ["PeriodNotClosed", "PoolUnderfunded", "RewardError"]


class RewardError(GamepayError):
    """A reward run was refused or stopped."""

    code = "reward_error"


class PoolUnderfunded(RewardError):
    """The reward pool cannot pay the next payout; ``report`` says what was paid and what not."""

    code = "pool_underfunded"

    def __init__(self, message: str, *, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class PeriodNotClosed(RewardError):
    """The period has not ended yet."""

    code = "period_not_closed"
