"""The request table: one handler per message type, replies and errors framed by ``answer``."""

from __future__ import annotations

import json
import typing
from collections.abc import Sequence
from typing import Any

import pytest

from gamepay.core.events import Event, EventType
from gamepay.errors import (
    AuthenticationError,
    ConfigError,
    GamepayError,
    InsufficientFunds,
    OutcomeUnknownError,
    StoreError,
    TransportError,
)
from gamepay_ws.dispatch import HANDLERS, answer
from gamepay_ws.protocol import (
    Authenticate,
    BalanceEntry,
    CatalogEntry,
    ClientMessage,
    PaymentInstructionsReply,
    parse_message,
)


class FakeBackend:
    """A ShopBackend that records calls and fails on demand."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if self.fail is not None:
            raise self.fail

    async def catalog(self) -> Sequence[CatalogEntry]:
        """No items."""
        self._call("catalog")
        return []

    async def balances(self, player_id: str) -> Sequence[BalanceEntry]:
        """One balance."""
        self._call("balances", player_id)
        gold = BalanceEntry(asset="currency:gold", code="gold", decimals=0, available="5", held="0")
        return [gold]

    async def buy_with_balance(self, player_id: str, sku: str, request_id: str) -> dict[str, Any]:
        """A completed order."""
        self._call("buy_with_balance", player_id, sku, request_id)
        return {"order_id": "o1", "status": "completed"}

    async def buy_with_crypto(
        self, player_id: str, sku: str, request_id: str
    ) -> PaymentInstructionsReply:
        """Fixed instructions."""
        self._call("buy_with_crypto", player_id, sku, request_id)
        return _INSTRUCTIONS

    async def top_up(
        self, player_id: str, amount: str, currency: str, request_id: str
    ) -> PaymentInstructionsReply:
        """Fixed instructions."""
        self._call("top_up", player_id, amount, currency, request_id)
        return _INSTRUCTIONS

    async def withdraw(
        self, player_id: str, asset: str, amount: str, address: str, request_id: str
    ) -> dict[str, Any]:
        """A sent withdrawal."""
        self._call("withdraw", player_id, asset, amount, address, request_id)
        return {"withdrawal_id": "w1", "status": "sent"}

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """Two events, one of another player (never shown)."""
        self._call("events_after", player_id, last_id, limit)
        return [
            Event(last_id + 1, player_id, EventType.BALANCE_CHANGED, {"n": 1}),
            Event(last_id + 2, "someone-else", EventType.BALANCE_CHANGED, {"n": 2}),
        ]


_INSTRUCTIONS = PaymentInstructionsReply(
    order_id="o2",
    asset="token:arb:0x1",
    code="USDT",
    decimals=6,
    amount="1.5",
    chain="arb",
    token="0x1",
    address="0x2",
    deadline=9,
)


def _message(**fields: Any) -> ClientMessage:
    message, _, error = parse_message(json.dumps({"id": 4, **fields}))
    assert error is None
    assert message is not None
    return message


def test_every_request_type_but_authenticate_has_a_handler() -> None:
    """The table covers the protocol; authenticate belongs to the session."""
    union = typing.get_args(typing.get_args(ClientMessage)[0])
    assert set(HANDLERS) == set(union) - {Authenticate}


@pytest.mark.parametrize(
    ("fields", "call"),
    [
        ({"type": "ping"}, None),
        ({"type": "catalog"}, ("catalog", ())),
        ({"type": "balance"}, ("balances", ("alice",))),
        (
            {"type": "buy_with_balance", "sku": "sword", "request_id": "k"},
            ("buy_with_balance", ("alice", "sword", "ws:alice:k")),
        ),
        (
            {"type": "buy_with_crypto", "sku": "sword", "request_id": "k"},
            ("buy_with_crypto", ("alice", "sword", "ws:alice:k")),
        ),
        (
            {"type": "top_up", "amount": "3", "currency": "USD", "request_id": "k"},
            ("top_up", ("alice", "3", "USD", "ws:alice:k")),
        ),
        (
            {"type": "withdraw", "asset": "a", "amount": "1", "address": "x", "request_id": "k"},
            ("withdraw", ("alice", "a", "1", "x", "ws:alice:k")),
        ),
        ({"type": "history", "after": 7, "limit": 5}, ("events_after", ("alice", 7, 5))),
    ],
)
async def test_each_handler_calls_the_backend_for_the_authenticated_player(
    fields: dict[str, Any], call: tuple[str, tuple[Any, ...]] | None
) -> None:
    """The player id and the scoped idempotency key reach the backend; the reply echoes the id."""
    backend = FakeBackend()
    reply = json.loads(await answer(backend, "alice", _message(**fields)))
    assert (reply["type"], reply["id"]) == (f"{fields['type']}_result", 4)
    assert backend.calls == ([] if call is None else [call])
    if fields["type"] == "history":
        assert [e["event_id"] for e in reply["entries"]] == [8]
        assert reply["next_after"] == 8


async def test_failures_become_typed_or_internal_errors() -> None:
    """A GamepayError keeps its code; anything else is internal_error, with no details."""
    refused = await answer(FakeBackend(InsufficientFunds("no")), "a", _message(type="balance"))
    assert json.loads(refused) == {
        "type": "error",
        "id": 4,
        "code": "insufficient_funds",
        "message": "no",
    }
    crash = FakeBackend(RuntimeError("db"))
    broken = json.loads(await answer(crash, "a", _message(type="catalog")))
    assert (broken["code"], broken["message"]) == (
        "internal_error",
        "the server could not complete the request",
    )


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            AuthenticationError("HTTP 401 4002 invalid API key", status=401),
            "payment_provider_unavailable",
        ),
        (TransportError("connect to wallet.kryptogo.app refused"), "payment_provider_unavailable"),
        (OutcomeUnknownError("create_intent timed out at pi_x", operation="x"), "outcome_unknown"),
        (StoreError("cannot reach the postgresql database: password for game"), "internal_error"),
        (ConfigError("GAMEPAY_WS_TOKEN_SECRET is not set"), "internal_error"),
    ],
)
async def test_operator_side_failures_reach_the_player_as_generic_codes(
    error: Exception, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    """KryptoGO, database and configuration failures give the player a generic code and no
    internal text; the operator's log keeps the detail."""
    assert isinstance(error, GamepayError)
    with caplog.at_level("WARNING", logger="gamepay.ws"):
        reply = json.loads(await answer(FakeBackend(error), "alice", _message(type="catalog")))
    assert (reply["type"], reply["code"]) == ("error", code)
    assert error.message not in reply["message"]
    for word in ("401", "API key", "password", "GAMEPAY_", "pi_x", "kryptogo.app"):
        assert word not in reply["message"]
    assert error.message in caplog.text
