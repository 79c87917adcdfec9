"""The inventory's errors, branches of the one tree drawn in ``gamepay.errors``.

Postings: ``InsufficientAsset`` and ``OperationConflict``. Trades (``gamepay.inventory.trades``):
``TradeError`` and its branches, plus ``NotTradable`` (an ``AssetError``) and ``SelfTrade`` (an
``InvalidInput``); the recipient short of its side gets ``InsufficientAsset`` too.
"""

from __future__ import annotations

from gamepay.errors import (
    AssetError,
    GamepayError,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidInput,
)

__all__ = [
    "InsufficientAsset",
    "NotTradable",
    "OperationConflict",
    "SelfTrade",
    "TradeClosed",
    "TradeConflict",
    "TradeError",
    "TradeExpired",
    "TradeForbidden",
    "TradeNotFound",
]


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


class TradeConflict(IdempotencyConflict):
    """A trade offer's idempotency key was replayed with another recipient, sides or expiry."""


class NotTradable(AssetError):
    """An asset players may not trade (an on-chain token: it moves only by payments and
    withdrawals); only in-game currencies and items are tradable."""

    code = "not_tradable"


class SelfTrade(InvalidInput):
    """A player offered a trade to themselves."""

    code = "self_trade"


class TradeError(GamepayError):
    """A trade request refused for the trade's state or the player's part in it."""

    code = "trade_error"


class TradeNotFound(TradeError):
    """No trade with that id (a malformed id is not found either)."""

    code = "trade_not_found"


class TradeForbidden(TradeError):
    """The player may not do that to this trade: only its recipient accepts or declines it,
    only its proposer cancels it, and nobody else acts on it at all."""

    code = "trade_forbidden"


class TradeClosed(TradeError):
    """The trade is no longer open (accepted, declined, cancelled or expired): ``status``."""

    code = "trade_closed"

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


class TradeExpired(TradeClosed):
    """The trade passed its ``expires_at`` before the request: it is expired now (holds
    released) and nothing else happened."""

    code = "trade_expired"
