"""The port the adapter calls on gamepay: ``ShopBackend``, one small Protocol.

``ShopBackend`` is the seam between the websocket protocol and gamepay: every method takes the
authenticated player id first (never an id from a message) and returns the protocol's reply
models. :class:`gamepay_ws.backend.GamepayBackend` implements it on
``gamepay.payments.Payments``, ``gamepay.withdrawals.Withdrawals`` and the ledger; a test or a
studio may plug in its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from gamepay.core.events import Event
from gamepay_ws.protocol import (
    BalanceEntry,
    CatalogEntry,
    PaymentInstructionsReply,
    TradeEntry,
    TradeLineIn,
)

__all__ = ["ShopBackend"]


class ShopBackend(Protocol):
    """The operations a player may run over the websocket, scoped to that player."""

    async def catalog(self) -> Sequence[CatalogEntry]:
        """What the shop sells."""
        ...

    async def balances(self, player_id: str) -> Sequence[BalanceEntry]:
        """The player's balances of every asset they hold."""
        ...

    async def buy_with_balance(self, player_id: str, sku: str, request_id: str) -> dict[str, Any]:
        """Buy ``sku`` from the player's balance, once per ``request_id``; JSON-ready result."""
        ...

    async def buy_with_crypto(
        self, player_id: str, sku: str, request_id: str
    ) -> PaymentInstructionsReply:
        """Start a crypto purchase of ``sku`` (once per request id): where, how much, by when."""
        ...

    async def top_up(
        self, player_id: str, amount: str, currency: str, request_id: str
    ) -> PaymentInstructionsReply:
        """Start a top-up worth ``amount`` of fiat ``currency`` (decimal string), once per id."""
        ...

    async def withdraw(
        self, player_id: str, asset: str, amount: str, address: str, request_id: str
    ) -> dict[str, Any]:
        """Withdraw ``amount`` (decimal string) of ``asset`` to ``address``, once per request id."""
        ...

    async def renew_subscription(self, player_id: str, sku: str) -> dict[str, Any]:
        """The intent paying the next period of subscription ``sku`` (created once per period):
        its index and the payment instructions, JSON-ready."""
        ...

    async def subscriptions(self, player_id: str) -> list[dict[str, Any]]:
        """The player's subscriptions, JSON-ready."""
        ...

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """The player's persisted events with ``id > last_id``, oldest first."""
        ...

    async def trade_offer(
        self,
        player_id: str,
        to_player: str,
        give: Sequence[TradeLineIn],
        want: Sequence[TradeLineIn],
        expires_in: int,
        request_id: str,
    ) -> TradeEntry:
        """Offer ``give`` (held at once) for ``want`` to ``to_player``, once per request id."""
        ...

    async def trade_close(
        self, player_id: str, trade_id: str, action: str, request_id: str
    ) -> TradeEntry:
        """``accept``, ``decline`` or ``cancel`` a trade, once per request id."""
        ...

    async def trades(self, player_id: str, open_only: bool, limit: int) -> Sequence[TradeEntry]:
        """The player's trades, newest first (by default the open ones)."""
        ...
