"""Protocol 2 messages (see docs/protocol.md), validated with pydantic; parsing is free of I/O.

Every client message is a JSON object with a ``type`` and a client-chosen ``id`` (string of
1..64 characters or a non-negative integer) that the reply echoes. Replies have the type
``<request type>_result``; failures are ``{"type": "error", "id", "code", "message"}``; pushes
are ``{"type": "event", "event_id", "event", "data"}``. Amounts are decimal strings: a JSON
number where an amount is due is refused with code ``amount_type``.

Frames are strict JSON (RFC 8259 as I-JSON): a duplicate key, ``NaN``/``Infinity`` or a number
beyond a float's range is ``bad_json``; a string holding a lone surrogate is ``bad_message``
(and an ``id`` holding one is unreadable, so the error's ``id`` is null). Money-moving requests
carry a ``request_id`` (``request_id_required`` otherwise); every token problem is
``token_rejected``. How amounts are written in replies and pushes is :mod:`gamepay_ws.amounts`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from gamepay.core.events import Event
from gamepay.errors import (
    AmountFormatError,
    AmountTypeError,
    BadJson,
    GamepayError,
    MalformedMessage,
    TokenRejected,
    UnknownMessageType,
)
from gamepay_ws.amounts import event_data

__all__ = [
    "CLIENT_TYPES",
    "MONEY_MOVING",
    "PROTOCOL_VERSION",
    "AssetAmount",
    "Authenticate",
    "BalanceEntry",
    "BalanceRequest",
    "BuyWithBalance",
    "BuyWithCrypto",
    "CatalogEntry",
    "CatalogRequest",
    "ClientMessage",
    "ErrorReply",
    "EventPush",
    "HistoryEntry",
    "HistoryRequest",
    "PaymentInstructionsReply",
    "Ping",
    "RenewSubscription",
    "RequestId",
    "RequestIdRequired",
    "SubscriptionsRequest",
    "TopUp",
    "TradeAccept",
    "TradeCancel",
    "TradeDecline",
    "TradeEntry",
    "TradeLineIn",
    "TradeList",
    "TradeOffer",
    "Withdraw",
    "encode_frame",
    "error_reply",
    "event_push",
    "parse_message",
    "peek_id",
    "peek_raw_id",
]


class RequestIdRequired(MalformedMessage):
    """A money-moving request without the ``request_id`` that makes resending it safe."""

    code = "request_id_required"


PROTOCOL_VERSION = 2
"""Bumped on any incompatible change; sent in the ``authenticate_result`` reply."""

_DECIMAL = re.compile(r"[0-9]{1,80}(\.[0-9]{1,80})?")


def _amount(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "amount_type", "amounts are decimal strings, not {kind}", {"kind": type(value).__name__}
        )
    if _DECIMAL.fullmatch(value) is None:
        raise PydanticCustomError("amount_format", "not a plain decimal amount string")
    return value


Amount = Annotated[str, BeforeValidator(_amount)]
"""A decimal string such as ``"9.23"``; never a JSON number."""


def _unicode(value: str) -> str:
    if not _is_unicode(value):
        raise PydanticCustomError("lone_surrogate", "a string holds a lone surrogate")
    return value


def _is_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


RequestId = Annotated[
    Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_unicode)]
    | Annotated[int, Field(ge=0, le=2**53)],
    Field(union_mode="left_to_right"),
]
"""The client-chosen id a reply echoes: a 1..64 character string or an int in 0..2**53."""

IdempotencyKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
"""A client-chosen key that makes a money-moving request safe to resend (e.g. a UUID)."""

Sku = Annotated[str, Field(min_length=1, max_length=64)]
AssetId = Annotated[str, Field(min_length=1, max_length=200)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Request(_Message):
    id: RequestId


class Authenticate(_Request):
    """First message on every connection: the player token, and the last event id seen."""

    type: Literal["authenticate"]
    token: str
    """Checked by the authenticator only: an empty or over-long token is ``token_rejected``."""
    last_event_id: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None


class CatalogRequest(_Request):
    """What the shop sells."""

    type: Literal["catalog"]


class BalanceRequest(_Request):
    """The player's balances (available and held) of every asset they hold."""

    type: Literal["balance"]


class BuyWithBalance(_Request):
    """Buy a catalog item paying from the player's existing balance."""

    type: Literal["buy_with_balance"]
    sku: Sku
    request_id: IdempotencyKey


class RenewSubscription(_Request):
    """Create (or get again) the payment intent of a subscription's next period: no request id
    needed, the server keys it by (player, sku, period index)."""

    type: Literal["renew_subscription"]
    sku: Sku


class SubscriptionsRequest(_Request):
    """The player's subscriptions: each one's latest paid period and when its pass lapses."""

    type: Literal["subscriptions"]


class BuyWithCrypto(_Request):
    """Buy a catalog item with a crypto payment: the reply says where and how much to pay."""

    type: Literal["buy_with_crypto"]
    sku: Sku
    request_id: IdempotencyKey


class TopUp(_Request):
    """Add to the player's token balance with a crypto payment of a fiat value."""

    type: Literal["top_up"]
    amount: Amount
    currency: Literal["TWD", "USD"]
    request_id: IdempotencyKey


class Withdraw(_Request):
    """Send an amount of a token the player holds to an on-chain address."""

    type: Literal["withdraw"]
    asset: AssetId
    amount: Amount
    address: Annotated[str, Field(min_length=1, max_length=128)]
    request_id: IdempotencyKey


class HistoryRequest(_Request):
    """The player's activity (their persisted events) after event id ``after``, oldest first."""

    type: Literal["history"]
    after: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class Ping(_Request):
    """Liveness check; the reply is ``ping_result``."""

    type: Literal["ping"]


PlayerId = Annotated[str, Field(min_length=1, max_length=128)]
TradeId = Annotated[str, Field(min_length=1, max_length=64)]


class TradeLineIn(_Message):
    """One line of a side of an offer: an asset id and a decimal amount in its units."""

    asset: AssetId
    amount: Amount


TradeSide = Annotated[list[TradeLineIn], Field(min_length=1, max_length=10)]


class TradeOffer(_Request):
    """Offer ``give`` (held from the player at once) for ``want`` to ``to_player``."""

    type: Literal["trade_offer"]
    to_player: PlayerId
    give: TradeSide
    want: TradeSide
    expires_in: Annotated[int, Field(ge=1, le=2_592_000)] = 3600
    """Seconds the offer stays open (1 s to 30 days; default an hour)."""
    request_id: IdempotencyKey


class TradeAccept(_Request):
    """Accept a trade offered to the player: both sides move at once."""

    type: Literal["trade_accept"]
    trade_id: TradeId
    request_id: IdempotencyKey


class TradeDecline(_Request):
    """Decline a trade offered to the player: the proposer's side is released."""

    type: Literal["trade_decline"]
    trade_id: TradeId
    request_id: IdempotencyKey


class TradeCancel(_Request):
    """Withdraw the player's own offer: its side is released."""

    type: Literal["trade_cancel"]
    trade_id: TradeId
    request_id: IdempotencyKey


class TradeList(_Request):
    """The player's trades (offered and received), newest first; by default the open ones."""

    type: Literal["trade_list"]
    open_only: bool = True
    limit: Annotated[int, Field(ge=1, le=100)] = 20


ClientMessage = Annotated[
    Authenticate
    | CatalogRequest
    | BalanceRequest
    | BuyWithBalance
    | BuyWithCrypto
    | TopUp
    | Withdraw
    | HistoryRequest
    | Ping
    | TradeOffer
    | TradeAccept
    | TradeDecline
    | TradeCancel
    | TradeList
    | RenewSubscription
    | SubscriptionsRequest,
    Field(discriminator="type"),
]
"""Any message a client may send."""

MONEY_MOVING = (
    "buy_with_balance",
    "buy_with_crypto",
    "top_up",
    "withdraw",
    "trade_offer",
    "trade_accept",
    "trade_decline",
    "trade_cancel",
)
"""The requests that move money: each needs a ``request_id`` (resent, it is answered once)."""

CLIENT_TYPES = (
    "authenticate",
    "catalog",
    "balance",
    "buy_with_balance",
    "buy_with_crypto",
    "top_up",
    "withdraw",
    "history",
    "renew_subscription",
    "subscriptions",
    "ping",
    "trade_offer",
    "trade_accept",
    "trade_decline",
    "trade_cancel",
    "trade_list",
)

_CLIENT: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)

# --- server -> client --------------------------------------------------------------------------


class _Reply(_Message):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssetAmount(_Reply):
    """An exact amount of one ledger asset: a decimal string in the asset's units, beside the
    asset id, its display ``code`` (symbol, currency code or sku) and its ``decimals``."""

    asset: str
    code: str
    decimals: int
    amount: str


class CatalogEntry(_Reply):
    """One thing the shop sells: fiat price, what the buyer receives, and any balance price.

        ``grants`` lists every part (one, or a bundle's); ``grant`` is its first, for clients from
        before bundles. ``available_from`` / ``available_until`` are RFC 3339 UTC times or None;
    ``max_per_player`` the most orders of it one player may hold, or None.
    """

    sku: str
    title: str
    price: str
    currency: str
    grant: AssetAmount
    grants: tuple[AssetAmount, ...] = ()
    balance_price: AssetAmount | None = None
    available_from: str | None = None
    available_until: str | None = None
    max_per_player: int | None = None


class BalanceEntry(_Reply):
    """The player's holding of one asset, as decimal strings in the asset's units."""

    asset: str
    code: str
    decimals: int
    available: str
    held: str


class PaymentInstructionsReply(_Reply):
    """Where and how much to pay, exactly, and by when (unix seconds).

    ``amount`` of the token ``asset`` (``code``, ``decimals``), whose contract is ``token`` on
    ``chain``, to ``address``.
    """

    order_id: str
    payment_intent_id: str | None = None
    asset: str
    code: str
    decimals: int
    amount: str
    chain: str
    token: str
    address: str
    deadline: int
    fiat_amount: str | None = None
    fiat_currency: str | None = None


class HistoryEntry(_Reply):
    """One past event of the player."""

    event_id: int
    event: str
    data: dict[str, Any]
    created_at: str | None = None


class TradeEntry(_Reply):
    """One trade as a player sees it: who offers (``from_player``) what (``give``) for what
    (``want``) to whom, the player's ``role`` (``proposer`` / ``recipient``), its ``status``
    and times (ISO 8601)."""

    trade_id: str
    status: str
    role: str
    from_player: str
    to_player: str
    give: list[AssetAmount]
    want: list[AssetAmount]
    created_at: str
    expires_at: str
    closed_at: str | None = None


class ErrorReply(_Reply):
    """A typed refusal: ``code`` is stable (a gamepay error code or a protocol code)."""

    type: Literal["error"] = "error"
    id: RequestId | None
    code: str
    message: str


class EventPush(_Reply):
    """A server push of one persisted event; ``event_id`` increases, replay is by id."""

    type: Literal["event"] = "event"
    event_id: int
    event: str
    data: dict[str, Any]
    created_at: str | None = None


def peek_id(data: object) -> str | int | None:
    """The ``id`` of a decoded message if it is a valid request id, else None."""
    if not isinstance(data, dict):
        return None
    value = data.get("id")
    if isinstance(value, str) and 1 <= len(value) <= 64 and _is_unicode(value):
        return value
    if type(value) is int and 0 <= value <= 2**53:
        return value
    return None


def peek_raw_id(raw: str | bytes) -> str | int | None:
    """The request id of a raw frame if it can be read cheaply, else None (no validation)."""
    try:
        return peek_id(json.loads(raw))
    except (ValueError, RecursionError):
        return None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("duplicate key")
    return found


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def loads_strict(raw: str) -> Any:
    """Decode strict JSON: a duplicate key, NaN/Infinity or an out-of-range number is ValueError."""
    return json.loads(raw, object_pairs_hook=_object, parse_constant=_constant, parse_float=_float)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _all_unicode(data: Any) -> bool:
    """Whether every string (key or value) in decoded JSON is valid Unicode."""
    if isinstance(data, str):
        return _is_unicode(data)
    if isinstance(data, dict):
        return all(_all_unicode(k) and _all_unicode(v) for k, v in data.items())
    if isinstance(data, list):
        return all(_all_unicode(v) for v in data)
    return True


def _error_for(exc: ValidationError) -> GamepayError:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    kind = first["type"]
    where = str(first["loc"][1]) if len(first["loc"]) > 1 else str(first["loc"][0])
    if kind in ("union_tag_invalid",):
        return UnknownMessageType("unknown message type")
    if kind == "union_tag_not_found":
        return MalformedMessage("a message needs a string 'type'")
    for error in errors:
        loc = error["loc"]
        if loc[:2] == ("authenticate", "token"):
            return TokenRejected("the token must be a string")
        if error["type"] == "missing" and len(loc) == 2 and loc[1] == "request_id":
            return RequestIdRequired(f"{loc[0]} needs a request_id (e.g. a UUID)")
        if error["type"] == "amount_type":
            field = ".".join(str(part) for part in loc[1:])
            return AmountTypeError(f"{field}: amounts are decimal strings, not numbers")
        if error["type"] == "amount_format":
            field = ".".join(str(part) for part in loc[1:])
            return AmountFormatError(f"{field}: not a plain decimal amount string")
    return MalformedMessage(f"{where}: {first['msg']}"[:200])


Parsed = tuple[ClientMessage | None, str | int | None, GamepayError | None]


def parse_message(raw: str | bytes) -> Parsed:
    """Decode and validate one frame: ``(message, id, None)`` or ``(None, id-if-known, error)``."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, None, BadJson("frame is not UTF-8")
    try:
        data = loads_strict(raw)
    except (ValueError, RecursionError):
        return None, None, BadJson("frame is not strict JSON")
    request_id = peek_id(data)
    if _SURROGATE_ESCAPE.search(raw) is not None and not _all_unicode(data):
        return None, request_id, MalformedMessage("strings must be valid Unicode")
    if not isinstance(data, dict):
        return None, None, MalformedMessage("a message is a JSON object")
    if not isinstance(data.get("type"), str):
        return None, request_id, MalformedMessage("a message needs a string 'type'")
    if data["type"] not in CLIENT_TYPES:
        return None, request_id, UnknownMessageType("unknown message type")
    try:
        message = _CLIENT.validate_python(data)
    except ValidationError as exc:
        return None, request_id, _error_for(exc)
    except RecursionError:
        return None, request_id, MalformedMessage("message is nested too deeply")
    return message, message.id, None


def error_reply(request_id: str | int | None, error: GamepayError) -> str:
    """Serialize a typed error reply (an ``id`` that is not a valid request id becomes null)."""
    frame = {
        "type": "error",
        "id": peek_id({"id": request_id}),
        "code": error.code,
        "message": error.message,
    }
    return encode_frame(frame)


def event_push(event: Event) -> str:
    """The push frame of one event: ``{"type": "event", "event_id", "event", "data", ...}``."""
    created = event.created_at.isoformat() if event.created_at is not None else None
    push = {
        "type": "event",
        "event_id": event.id,
        "event": str(event.type),
        "data": event_data(event.payload),
        "created_at": created,
    }
    return encode_frame(push)


def encode_frame(data: dict[str, Any]) -> str:
    """The compact JSON text of one server frame."""
    return json.dumps(data, separators=(",", ":"))
