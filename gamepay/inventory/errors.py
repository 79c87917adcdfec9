"""The inventory's two errors, branches of the one tree drawn in ``gamepay.errors``."""

from __future__ import annotations

from gamepay.errors import IdempotencyConflict, InsufficientFunds

__all__ = ["InsufficientAsset", "OperationConflict"]


class InsufficientAsset(InsufficientFunds):
    """An inventory posting asked more than the player holds: nothing moved.

    ``asset_id`` names the first asset (in operation order) the player is short of and
    ``shortfall`` how many base units are missing (``> 0``).
    """

    def __init__(self, player_id: str, asset_id: str, shortfall: int) -> None:
        super().__init__(f"player {player_id!r} is short of {shortfall} {asset_id}")
        self.player_id = player_id
        self.asset_id = asset_id
        self.shortfall = shortfall


class OperationConflict(IdempotencyConflict):
    """An inventory idempotency key was replayed with other operations or another reason."""
