"""The ledger's refusals (``LedgerError``): missing rows, funds, idempotency, holds, corruption."""

from __future__ import annotations

from gamepay.errors.base import GamepayError

__all__ = [
    "AccountMismatch",
    "AccountNotFound",
    "AssetNotFound",
    "HoldNotFound",
    "HoldStateError",
    "IdempotencyConflict",
    "InsufficientFunds",
    "LedgerCorrupt",
    "LedgerError",
]


class LedgerError(GamepayError):
    """The ledger refused an operation."""

    code = "ledger_error"


class AccountNotFound(LedgerError):
    """No account with that id."""

    code = "account_not_found"


class AssetNotFound(LedgerError):
    """No asset with that id is registered."""

    code = "asset_not_found"


class AccountMismatch(LedgerError):
    """An account or asset already exists with different properties."""

    code = "account_mismatch"


class InsufficientFunds(LedgerError):
    """A transfer would take an account that may not go negative below zero."""

    code = "insufficient_funds"


class IdempotencyConflict(LedgerError):
    """A transfer, batch or hold id was replayed with different content."""

    code = "idempotency_conflict"


class HoldNotFound(LedgerError):
    """No hold with that id."""

    code = "hold_not_found"


class HoldStateError(LedgerError):
    """The hold was already posted or voided, or the post exceeds the held amount."""

    code = "hold_state"


class LedgerCorrupt(LedgerError):
    """verify() found balances that the transfers do not explain."""

    code = "ledger_corrupt"
