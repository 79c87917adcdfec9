"""The errors of operator decisions on withdrawals, branches of the tree in ``gamepay.errors``."""

from __future__ import annotations

from gamepay.errors import IllegalTransition, WithdrawalConflict
from gamepay.withdrawals.export import ExportError

__all__ = ["AlreadySettled", "ExportTooLarge", "NotAwaitingDecision", "TransferClaimed"]


class AlreadySettled(IllegalTransition):
    """The withdrawal is already ``sent`` or ``failed``: deciding again changes nothing."""

    code = "already_settled"


class NotAwaitingDecision(IllegalTransition):
    """The withdrawal is not waiting for an operator (``held``, or ``sending`` not yet stuck)."""

    code = "not_awaiting_decision"


class TransferClaimed(WithdrawalConflict):
    """The transfer id or tx hash given already settles another withdrawal: nothing changed."""

    code = "transfer_claimed"


class ExportTooLarge(ExportError):
    """An uploaded transfer export is above the size cap: nothing was read or stored."""

    code = "export_too_large"
