"""Requests to the backend: a ``{message type: handler}`` table and the reply each one makes.

Each handler takes the ``ShopBackend``, the authenticated player id (never an id from the
message) and the validated message, and returns the reply's fields. :func:`answer` turns that
into the reply frame: ``<type>_result`` echoing the request id, a typed error for a
``GamepayError`` the player can act on, or a generic code whose detail goes to the operator's
log only (:func:`player_facing`): a player never reads ``HTTP 401 ... invalid API key``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from gamepay.errors import (
    ConfigError,
    GamepayError,
    KryptoGOError,
    OutcomeUnknownError,
    SandboxError,
    StoreError,
)
from gamepay_ws.amounts import event_data
from gamepay_ws.port import ShopBackend
from gamepay_ws.protocol import (
    BalanceRequest,
    BuyWithBalance,
    BuyWithCrypto,
    CatalogRequest,
    ClientMessage,
    HistoryEntry,
    HistoryRequest,
    Ping,
    RenewSubscription,
    SubscriptionsRequest,
    TopUp,
    TradeAccept,
    TradeCancel,
    TradeDecline,
    TradeList,
    TradeOffer,
    Withdraw,
    encode_frame,
    error_reply,
)

__all__ = ["HANDLERS", "Handler", "answer", "idempotency_key", "player_facing", "trade_key"]

logger = logging.getLogger("gamepay.ws")

Handler = Callable[[ShopBackend, str, Any], Awaitable[dict[str, Any]]]
"""``(backend, player_id, message) -> reply fields`` for one message type."""


def idempotency_key(player_id: str, request_id: str) -> str:
    """Scope a client's request id to its player (protocol 2 requires one on money moves)."""
    return f"ws:{player_id}:{request_id}"


def _dump(models: Sequence[BaseModel]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json") for m in models]


async def _ping(backend: ShopBackend, player_id: str, message: Ping) -> dict[str, Any]:
    return {}


async def _catalog(backend: ShopBackend, player_id: str, message: CatalogRequest) -> dict[str, Any]:
    return {"items": _dump(await backend.catalog())}


async def _balance(backend: ShopBackend, player_id: str, message: BalanceRequest) -> dict[str, Any]:
    return {"balances": _dump(await backend.balances(player_id))}


async def _buy_with_balance(
    backend: ShopBackend, player_id: str, message: BuyWithBalance
) -> dict[str, Any]:
    key = idempotency_key(player_id, message.request_id)
    return await backend.buy_with_balance(player_id, message.sku, key)


async def _buy_with_crypto(
    backend: ShopBackend, player_id: str, message: BuyWithCrypto
) -> dict[str, Any]:
    key = idempotency_key(player_id, message.request_id)
    instructions = await backend.buy_with_crypto(player_id, message.sku, key)
    return instructions.model_dump(mode="json")


async def _top_up(backend: ShopBackend, player_id: str, message: TopUp) -> dict[str, Any]:
    key = idempotency_key(player_id, message.request_id)
    instructions = await backend.top_up(player_id, message.amount, message.currency, key)
    return instructions.model_dump(mode="json")


async def _withdraw(backend: ShopBackend, player_id: str, message: Withdraw) -> dict[str, Any]:
    key = idempotency_key(player_id, message.request_id)
    return await backend.withdraw(player_id, message.asset, message.amount, message.address, key)


async def _renew_subscription(
    backend: ShopBackend, player_id: str, message: RenewSubscription
) -> dict[str, Any]:
    return await backend.renew_subscription(player_id, message.sku)


async def _subscriptions(
    backend: ShopBackend, player_id: str, message: SubscriptionsRequest
) -> dict[str, Any]:
    return {"subscriptions": await backend.subscriptions(player_id)}


async def _history(backend: ShopBackend, player_id: str, message: HistoryRequest) -> dict[str, Any]:
    events = await backend.events_after(player_id, message.after, message.limit)
    entries = [
        HistoryEntry(
            event_id=e.id,
            event=str(e.type),
            data=event_data(e.payload),
            created_at=e.created_at.isoformat() if e.created_at else None,
        )
        for e in events
        if e.player_id == player_id
    ]
    return {
        "entries": _dump(entries),
        "next_after": entries[-1].event_id if entries else message.after,
    }


def trade_key(request_id: str) -> str:
    """A trade request's idempotency key: the trades service scopes keys to the player."""
    return f"ws:{request_id}"


async def _trade_offer(backend: ShopBackend, player_id: str, message: TradeOffer) -> dict[str, Any]:
    entry = await backend.trade_offer(
        player_id,
        message.to_player,
        message.give,
        message.want,
        message.expires_in,
        trade_key(message.request_id),
    )
    return {"trade": entry.model_dump(mode="json")}


async def _trade_close(
    backend: ShopBackend, player_id: str, message: TradeAccept | TradeDecline | TradeCancel
) -> dict[str, Any]:
    action = message.type.removeprefix("trade_")
    key = trade_key(message.request_id)
    entry = await backend.trade_close(player_id, message.trade_id, action, key)
    return {"trade": entry.model_dump(mode="json")}


async def _trade_list(backend: ShopBackend, player_id: str, message: TradeList) -> dict[str, Any]:
    return {"trades": _dump(await backend.trades(player_id, message.open_only, message.limit))}


HANDLERS: Mapping[type[BaseModel], Handler] = {
    Ping: _ping,
    CatalogRequest: _catalog,
    BalanceRequest: _balance,
    BuyWithBalance: _buy_with_balance,
    BuyWithCrypto: _buy_with_crypto,
    TopUp: _top_up,
    Withdraw: _withdraw,
    HistoryRequest: _history,
    TradeOffer: _trade_offer,
    TradeAccept: _trade_close,
    TradeDecline: _trade_close,
    TradeCancel: _trade_close,
    TradeList: _trade_list,
    RenewSubscription: _renew_subscription,
    SubscriptionsRequest: _subscriptions,
}
"""Every request after ``authenticate`` (which the session handles itself), by message type."""


_INTERNAL = ("internal_error", "the server could not complete the request")
_PROVIDER = (
    "payment_provider_unavailable",
    "the payment provider could not complete the request; try again later",
)
_UNKNOWN = (
    "outcome_unknown",
    "the payment provider did not confirm the request; resend it with the same request_id",
)


def player_facing(exc: GamepayError) -> tuple[str, str] | None:
    """The generic ``(code, message)`` a player gets instead of ``exc``, or None to show it.

    Operator-side failures (KryptoGO answers and outages, the database, configuration, the
    sandbox) carry internal text: the player gets a stable generic code and the operator's log
    gets the detail. Refusals the player can act on (funds, sku, amount, address, limits,
    protocol) are shown as they are.
    """
    if isinstance(exc, OutcomeUnknownError):
        return _UNKNOWN
    if isinstance(exc, KryptoGOError):
        return _PROVIDER
    if isinstance(exc, StoreError | ConfigError | SandboxError):
        return _INTERNAL
    return None


def _error_frame(request_id: str | int | None, code: str, text: str) -> str:
    return encode_frame({"type": "error", "id": request_id, "code": code, "message": text})


async def answer(backend: ShopBackend, player_id: str, message: ClientMessage) -> str:
    """Run one request for ``player_id`` and return its reply frame (a result or an error)."""
    handler = HANDLERS[type(message)]
    try:
        result = await handler(backend, player_id, message)
    except GamepayError as exc:
        generic = player_facing(exc)
        if generic is None:
            return error_reply(message.id, exc)
        logger.warning(
            "%s for player %s failed: %s (%s); the player was told %s",
            message.type,
            player_id,
            exc.code,
            exc.message,
            generic[0],
        )
        return _error_frame(message.id, *generic)
    except Exception:
        logger.exception("%s failed", message.type)
        return _error_frame(message.id, *_INTERNAL)
    return encode_frame({"type": f"{message.type}_result", "id": message.id, **result})
