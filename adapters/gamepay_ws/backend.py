"""``GamepayBackend``: the adapter's ``ShopBackend`` port on Payments, Withdrawals and the ledger.

Turns protocol values into service calls and service results into protocol replies: decimal
strings become ints of base units with each asset's own decimals (and back), every amount goes
out beside its asset's id, ``code`` and ``decimals`` (:mod:`gamepay_ws.amounts`), and the player
id always comes from the authenticated connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from gamepay.core.accounts import player_account
from gamepay.core.assets import Asset, Token
from gamepay.core.events import Event
from gamepay.core.money import format_amount, parse_amount
from gamepay.errors import (
    AccountNotFound,
    AssetError,
    AssetNotFound,
    InvalidInput,
    WithdrawalsUnavailable,
)
from gamepay.inventory.trade_rows import Trade, TradeLine
from gamepay.inventory.trades import TradeResult
from gamepay.ledger import Balance, asset_code
from gamepay.payments.catalog import CatalogItem
from gamepay.payments.records import Order, PaymentInstructions
from gamepay.payments.subscriptions import Subscriptions
from gamepay.withdrawals.records import Withdrawal
from gamepay_ws.amounts import needs_asset_facts
from gamepay_ws.protocol import (
    AssetAmount,
    BalanceEntry,
    CatalogEntry,
    PaymentInstructionsReply,
    TradeEntry,
    TradeLineIn,
)

__all__ = [
    "BalanceReader",
    "GamepayBackend",
    "PaymentsService",
    "PlayerBalances",
    "TradesService",
    "WithdrawableTokens",
    "WithdrawalsService",
]


def _utc_text(moment: datetime | None) -> str | None:
    """``moment`` as RFC 3339 in UTC (``2026-12-24T00:00:00Z``), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class BalanceReader(Protocol):
    """What the backend reads of ``gamepay.ledger.Ledger``: assets and an account's balances."""

    async def get_assets(self, asset_ids: Iterable[str] | None = None) -> Mapping[str, Asset]:
        """The registered assets among ``asset_ids``, by id."""
        ...

    async def balances(self, account_id: str) -> Mapping[str, Balance]:
        """Every asset the account has touched, with its balance."""
        ...


class PlayerBalances(Protocol):
    """What the backend reads balances from when given (``gamepay.inventory.Inventory``: expired
    time-limited lots are not counted)."""

    async def balances(self, player_id: str) -> Mapping[str, Balance]:
        """The player's balances as the player sees them."""
        ...


class PaymentsService(Protocol):
    """What the backend calls on ``gamepay.payments.Payments`` (a test may plug in its own)."""

    @property
    def ledger(self) -> BalanceReader:
        """The ledger balances and assets are read from."""
        ...

    @property
    def catalog(self) -> Iterable[CatalogItem]:
        """What the shop sells."""
        ...

    @property
    def subscriptions(self) -> Subscriptions:
        """Renewals and offers of crypto subscriptions."""
        ...

    async def purchase(
        self, player_id: str, sku: str, *, request_id: str | None = None
    ) -> PaymentInstructions:
        """Start buying ``sku`` with crypto, once per ``request_id``."""
        ...

    async def top_up(
        self, player_id: str, fiat_amount: str, fiat_currency: str, *, request_id: str | None = None
    ) -> PaymentInstructions:
        """Start a top-up worth ``fiat_amount`` of ``fiat_currency``, once per ``request_id``."""
        ...

    async def buy_with_balance(self, player_id: str, sku: str, *, request_id: str) -> Order:
        """Buy ``sku`` with a balance the player holds, once per ``request_id``."""
        ...

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """The player's persisted events with ``id > last_id``, oldest first."""
        ...


class WithdrawableTokens(Protocol):
    """What the backend reads of ``gamepay.withdrawals.WithdrawalsConfig``: the tokens."""

    @property
    def tokens(self) -> Mapping[str, Token]:
        """The withdrawable tokens by asset id."""
        ...


class WithdrawalsService(Protocol):
    """What the backend calls on ``gamepay.withdrawals.Withdrawals``."""

    @property
    def config(self) -> WithdrawableTokens:
        """The configuration in force (its withdrawable tokens)."""
        ...

    async def withdraw(
        self, player_id: str, asset_id: str, amount: int, address: str, *, request_id: str
    ) -> Withdrawal:
        """Withdraw ``amount`` base units of a token to ``address``, once per ``request_id``."""
        ...


class TradesService(Protocol):
    """What the backend calls on ``gamepay.inventory.Trades``."""

    async def offer(
        self,
        from_player: str,
        to_player: str,
        give: Sequence[tuple[str, int]],
        want: Sequence[tuple[str, int]],
        expires_in: int,
        idempotency_key: str,
    ) -> TradeResult:
        """Offer ``give`` (held at once) for ``want``, once per key."""
        ...

    async def accept(self, trade_id: str, by_player: str, idempotency_key: str) -> TradeResult:
        """The recipient accepts."""
        ...

    async def decline(self, trade_id: str, by_player: str, idempotency_key: str) -> TradeResult:
        """The recipient declines."""
        ...

    async def cancel(self, trade_id: str, by_player: str, idempotency_key: str) -> TradeResult:
        """The proposer cancels."""
        ...

    async def list_trades(
        self, player_id: str, *, open_only: bool = True, limit: int = 50
    ) -> list[Trade]:
        """The player's trades, newest first."""
        ...


class GamepayBackend:
    """``ShopBackend`` over ``Payments`` (and ``Withdrawals``, if withdrawals are offered).

    ``payments`` is a ``gamepay.payments.Payments`` (or anything with the ``PaymentsService``
    methods); its ledger is used for balances. ``withdrawals`` is a
    ``gamepay.withdrawals.Withdrawals`` (``WithdrawalsService``) or None (then ``withdraw`` is
    refused with ``invalid_asset``). ``trades`` is a ``gamepay.inventory.Trades`` or None (then
    the trade requests are refused with ``invalid_input``). ``inventory`` (``PlayerBalances``),
    when given, answers ``balances`` (expired lots hidden); else the payments' ledger does.
    ``gamepay.Economy`` builds this for you.
    """

    def __init__(
        self,
        payments: PaymentsService,
        withdrawals: WithdrawalsService | None = None,
        trades: TradesService | None = None,
        *,
        inventory: PlayerBalances | None = None,
    ) -> None:
        self.payments = payments
        self.withdrawals = withdrawals
        self.trades_service = trades
        self.inventory = inventory
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
        if info is None:
            raise AssetNotFound(f"asset {asset_id[:80]!r} is not registered")
        code, decimals = info
        return AssetAmount(
            asset=asset_id, code=code, decimals=decimals, amount=format_amount(units, decimals)
        )

    async def catalog(self) -> Sequence[CatalogEntry]:
        """Every catalog item, amounts as decimal strings of their assets."""
        items = []
        for item in self.payments.catalog:
            parts = tuple(
                AssetAmount(
                    asset=part.asset.id,
                    code=asset_code(part.asset),
                    decimals=part.decimals,
                    amount=format_amount(part.amount, part.decimals),
                )
                for part in item.parts
            )
            price = item.balance_price
            items.append(
                CatalogEntry(
                    sku=item.sku,
                    title=item.title,
                    price=item.price,
                    currency=str(item.currency),
                    grant=parts[0],
                    grants=parts,
                    balance_price=(
                        None if price is None else await self._amount(price.asset_id, price.amount)
                    ),
                    available_from=_utc_text(item.available_from),
                    available_until=_utc_text(item.available_until),
                    max_per_player=item.max_per_player,
                )
            )
        return items

    async def balances(self, player_id: str) -> Sequence[BalanceEntry]:
        """The player's balances (an unknown player simply holds nothing)."""
        try:
            if self.inventory is not None:
                found = await self.inventory.balances(player_id)
            else:
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
    def _instructions(found: PaymentInstructions) -> PaymentInstructionsReply:
        return PaymentInstructionsReply(
            order_id=found.order_id,
            payment_intent_id=found.payment_intent_id,
            asset=f"token:{found.chain_id}:{found.token_address.lower()}",
            code=found.symbol,
            decimals=found.decimals,
            amount=found.crypto_amount_text,
            chain=found.chain_id,
            token=found.token_address,
            address=found.address,
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

    async def renew_subscription(self, player_id: str, sku: str) -> dict[str, Any]:
        """The renewal intent of the next period (``Payments.subscriptions.renew``)."""
        renewal = await self.payments.subscriptions.renew(player_id, sku)
        return {
            "sku": renewal.sku,
            "period_index": renewal.period_index,
            **self._instructions(renewal.instructions).model_dump(mode="json"),
        }

    async def subscriptions(self, player_id: str) -> list[dict[str, Any]]:
        """The player's subscriptions with whether each pass is held now."""
        subscriptions = self.payments.subscriptions
        now = subscriptions.context.now()
        return [
            {**sub.to_json(), "held": sub.held(now)} for sub in await subscriptions.of(player_id)
        ]

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
            "code": token.symbol,
            "decimals": result.decimals,
            "amount": format_amount(result.amount, result.decimals),
            "address": result.address,
            "tx_hash": result.tx_hash,
        }

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """The player's persisted events after ``last_id`` (the payments' events outbox).

        An event stored before its asset's ``code`` and ``decimals`` were recorded in events
        gets them from the ledger, so every push follows the one amount convention.
        """
        events = await self.payments.events_after(player_id, last_id, limit)
        old = [e for e in events if needs_asset_facts(e.payload)]
        if not old:
            return events
        info = await self._asset_info(str(e.payload["asset_id"]) for e in old)
        return [self._with_facts(e, info) if needs_asset_facts(e.payload) else e for e in events]

    @staticmethod
    def _with_facts(event: Event, info: dict[str, tuple[str, int]]) -> Event:
        facts = info.get(str(event.payload["asset_id"]))
        if facts is None:
            return event
        code, decimals = facts
        return replace(event, payload={**event.payload, "code": code, "decimals": decimals})

    # ------------------------------------------------------------------ trades

    def _trades(self) -> TradesService:
        if self.trades_service is None:
            raise InvalidInput("this server does not offer trades")
        return self.trades_service

    async def _side(self, lines: Sequence[TradeLineIn]) -> list[tuple[str, int]]:
        """Decimal lines as ``(asset id, base units)`` with each asset's own decimals."""
        info = await self._asset_info(line.asset for line in lines)
        side = []
        for line in lines:
            facts = info.get(line.asset)
            if facts is None:
                raise AssetNotFound(f"asset {line.asset[:80]!r} is not registered")
            side.append((line.asset, parse_amount(line.amount, facts[1])))
        return side

    async def _entry(self, trade: Trade, player_id: str) -> TradeEntry:
        async def amounts(lines: tuple[TradeLine, ...]) -> list[AssetAmount]:
            return [await self._amount(line.asset, line.amount) for line in lines]

        role = trade.role_of(player_id)
        return TradeEntry(
            trade_id=trade.id,
            status=str(trade.status),
            role=str(role) if role is not None else "",
            from_player=trade.from_player,
            to_player=trade.to_player,
            give=await amounts(trade.give),
            want=await amounts(trade.want),
            created_at=trade.created_at.isoformat(),
            expires_at=trade.expires_at.isoformat(),
            closed_at=None if trade.closed_at is None else trade.closed_at.isoformat(),
        )

    async def trade_offer(
        self,
        player_id: str,
        to_player: str,
        give: Sequence[TradeLineIn],
        want: Sequence[TradeLineIn],
        expires_in: int,
        request_id: str,
    ) -> TradeEntry:
        """Offer a trade from the authenticated player; decimal amounts in each asset's units."""
        service = self._trades()
        result = await service.offer(
            player_id,
            to_player,
            await self._side(give),
            await self._side(want),
            expires_in,
            request_id,
        )
        return await self._entry(result.trade, player_id)

    async def trade_close(
        self, player_id: str, trade_id: str, action: str, request_id: str
    ) -> TradeEntry:
        """Accept, decline or cancel a trade as the authenticated player."""
        service = self._trades()
        calls = {"accept": service.accept, "decline": service.decline, "cancel": service.cancel}
        result = await calls[action](trade_id, player_id, request_id)
        return await self._entry(result.trade, player_id)

    async def trades(self, player_id: str, open_only: bool, limit: int) -> Sequence[TradeEntry]:
        """The player's trades, newest first."""
        found = await self._trades().list_trades(player_id, open_only=open_only, limit=limit)
        return [await self._entry(trade, player_id) for trade in found]
