"""``GamepayBackend``: the adapter's ``ShopBackend`` port on Payments, Withdrawals and the ledger.

Turns protocol values into service calls and service results into protocol replies: decimal
strings become ints of base units with each asset's own decimals (and back), and the player id
always comes from the authenticated connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gamepay.core.accounts import player_account
from gamepay.core.events import Event
from gamepay.core.money import format_amount, parse_amount
from gamepay.errors import AccountNotFound, AssetError, WithdrawalsUnavailable
from gamepay.ledger import asset_code
from gamepay_ws.protocol import (
    AssetAmount,
    BalanceEntry,
    CatalogEntry,
    PaymentInstructionsReply,
)

__all__ = ["GamepayBackend"]


class GamepayBackend:
    """``ShopBackend`` over ``Payments`` (and ``Withdrawals``, if withdrawals are offered).

    ``payments`` is a ``gamepay.payments.service.Payments``; its ledger and store are used for
    balances. ``withdrawals`` is a ``gamepay.withdrawals.service.Withdrawals`` or None (then
    ``withdraw`` is refused with ``invalid_asset``).
    """

    def __init__(self, payments: Any, withdrawals: Any | None = None) -> None:
        self.payments = payments
        self.withdrawals = withdrawals
        self._assets: dict[str, tuple[str, int]] = {}

    async def _asset_info(self, asset_ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """``asset id -> (code, decimals)`` from the ledger's registered assets (cached)."""
        missing = sorted({a for a in asset_ids if a not in self._assets})
        if missing:
            for asset in (await self.payments.ledger.get_assets(missing)).values():
                self._assets[asset.id] = (asset_code(asset), asset.decimals)
        return self._assets

    async def _amount(self, asset_id: str, units: int) -> AssetAmount:
        info = (await self._asset_info([asset_id])).get(asset_id)
        decimals = info[1] if info is not None else 0
        return AssetAmount(asset=asset_id, amount=format_amount(units, decimals))

    async def catalog(self) -> Sequence[CatalogEntry]:
        """Every catalog item, amounts as decimal strings of their assets."""
        items = []
        for item in self.payments.catalog:
            grant = item.grant
            price = item.balance_price
            items.append(
                CatalogEntry(
                    sku=item.sku,
                    title=item.title,
                    price=item.price,
                    currency=str(item.currency),
                    grant=AssetAmount(
                        asset=grant.asset.id, amount=format_amount(grant.amount, grant.decimals)
                    ),
                    balance_price=(
                        None if price is None else await self._amount(price.asset_id, price.amount)
                    ),
                )
            )
        return items

    async def balances(self, player_id: str) -> Sequence[BalanceEntry]:
        """The player's balances (an unknown player simply holds nothing)."""
        try:
            found = await self.payments.ledger.balances(player_account(player_id))
        except AccountNotFound:
            return []
        info = await self._asset_info(found)
        result = []
        for asset_id, balance in found.items():
            code, decimals = info.get(asset_id, (asset_id.rsplit(":", 1)[-1], 0))
            result.append(
                BalanceEntry(
                    asset=asset_id,
                    code=code,
                    decimals=decimals,
                    available=format_amount(balance.available, decimals),
                    held=format_amount(balance.held, decimals),
                )
            )
        return result

    async def buy_with_balance(self, player_id: str, sku: str, request_id: str) -> dict[str, Any]:
        """Buy with the player's balance; one atomic batch, once per request id."""
        order = await self.payments.buy_with_balance(player_id, sku, request_id=request_id)
        price = None
        if order.price_asset_id is not None and order.price_amount is not None:
            price = (await self._amount(order.price_asset_id, order.price_amount)).model_dump()
        return {
            "order_id": order.id,
            "sku": order.sku,
            "status": str(order.status),
            "price": price,
        }

    @staticmethod
    def _instructions(found: Any) -> PaymentInstructionsReply:
        return PaymentInstructionsReply(
            order_id=found.order_id,
            payment_intent_id=found.payment_intent_id,
            chain=found.chain_id,
            token=found.token_address,
            symbol=found.symbol,
            address=found.address,
            amount=found.crypto_amount_text,
            deadline=found.deadline,
            fiat_amount=found.fiat_amount,
            fiat_currency=str(found.fiat_currency),
        )

    async def buy_with_crypto(
        self, player_id: str, sku: str, request_id: str
    ) -> PaymentInstructionsReply:
        """Create the order and its payment intent; the exact amount to pay and the deadline."""
        found = await self.payments.purchase(player_id, sku, request_id=request_id)
        return self._instructions(found)

    async def top_up(
        self, player_id: str, amount: str, currency: str, request_id: str
    ) -> PaymentInstructionsReply:
        """Create a top-up order worth a fiat amount and its payment intent."""
        found = await self.payments.top_up(player_id, amount, currency, request_id=request_id)
        return self._instructions(found)

    async def withdraw(
        self, player_id: str, asset: str, amount: str, address: str, request_id: str
    ) -> dict[str, Any]:
        """Withdraw a decimal amount of a withdrawable token; once per request id.

        A withdrawal KryptoGO refused for a short treasury (4015) raises
        ``WithdrawalsUnavailable`` (code ``withdrawals_unavailable``): its funds are back.
        """
        withdrawals = self.withdrawals
        token = None if withdrawals is None else withdrawals.config.tokens.get(asset)
        if withdrawals is None or token is None:
            raise AssetError(f"not a withdrawable token: {asset[:80]!r}")
        units = parse_amount(amount, token.decimals)
        result = await withdrawals.withdraw(
            player_id, token.id, units, address, request_id=request_id
        )
        if str(result.status) == "failed" and result.error_code == "treasury_insufficient":
            # KryptoGO's treasury is short (4015): the hold is voided; say only "try later"
            raise WithdrawalsUnavailable()
        return {
            "withdrawal_id": result.id,
            "status": str(result.status),
            "asset": result.asset_id,
            "amount": format_amount(result.amount, result.decimals),
            "address": result.address,
            "tx_hash": result.tx_hash,
        }

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """The player's persisted events after ``last_id`` (the payments' events outbox)."""
        events: Sequence[Event] = await self.payments.events_after(player_id, last_id, limit)
        return events
