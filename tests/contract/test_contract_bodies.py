"""The client sends and reads every documented KryptoGO body kept in tests/contract/*.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gamepay.errors import APIError, NotFoundError, OutcomeUnknownError, TreasuryInsufficient
from gamepay.kryptogo import wire
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.kryptogo.errors_map import parse_body
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus
from gamepay.kryptogo.transfers import TransferRequest
from gamepay.payments.callbacks import read_callback

HERE = Path(__file__).parent
USDT = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
NAMES = {
    "create_intent_request.json",
    "create_intent_response.json",
    "get_intent_response.json",
    "error_invalid_payment_intent_id.json",
    "transfer_request.json",
    "transfer_success.json",
    "transfer_balance_not_enough.json",
    "callback_success.json",
    "callback_insufficient_refunded.json",
}
"""The fixtures the tests below read; a new file must be listed here and checked below."""


def raw(name: str) -> bytes:
    """The bytes of fixture ``name`` (one listed in NAMES)."""
    assert name in NAMES
    return (HERE / name).read_bytes()


def body(name: str) -> Any:
    """Fixture ``name`` parsed as JSON."""
    return json.loads(raw(name))


class Server:
    """A MockTransport handler that answers every request with one fixture and records it."""

    def __init__(self, name: str, status: int = 200) -> None:
        self.content = raw(name)
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Record the request, answer the fixture."""
        self.requests.append(request)
        return httpx.Response(self.status, content=self.content)


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> KryptoGOClient:
    """A client talking to ``handler`` through httpx.MockTransport."""
    return KryptoGOClient(
        client_id="client-1",
        api_key="sk_contract",
        origin="https://game.example",
        transport=httpx.MockTransport(handler),
    )


def test_every_fixture_is_listed() -> None:
    """The JSON files here are exactly NAMES, so none sits here unchecked."""
    assert {path.name for path in HERE.glob("*.json")} == NAMES


async def test_create_sends_the_documented_request_and_reads_the_answer() -> None:
    """The reference's create example goes out byte-for-byte in meaning; its answer parses."""
    expected = body("create_intent_request.json")
    server = Server("create_intent_response.json")
    async with client_for(server) as client:
        intent = await client.create_intent(**expected)
    (request,) = server.requests
    assert (request.method, request.url.path) == ("POST", wire.PATH_CREATE_INTENT)
    assert json.loads(request.content) == expected
    data = body("create_intent_response.json")["data"]
    assert intent.payment_intent_id == data["payment_intent_id"]
    assert intent.crypto_amount == 9_230_000
    assert intent.decimals == 6
    assert intent.fiat_currency is FiatCurrency.TWD
    assert intent.status is PaymentStatus.PENDING
    assert intent.payment_deadline == 1733811354
    assert intent.payment_tx_hash is None
    assert intent.order_data == expected["order_data"]
    assert (intent.client_id, intent.org_id) == (data["client_id"], data["org_id"])
    assert intent.to_wire()["crypto_amount"] == "9.23"


async def test_get_reads_every_seed_field_of_a_paid_intent() -> None:
    """The get answer with all 19 seed fields parses to exact base units."""
    server = Server("get_intent_response.json")
    data = body("get_intent_response.json")["data"]
    async with client_for(server) as client:
        intent = await client.get_intent(data["payment_intent_id"])
    assert server.requests[0].url.path == wire.intent_path(data["payment_intent_id"])
    assert len(data) == 19
    assert set(data) <= set(PaymentIntent.model_fields)
    assert intent.status is PaymentStatus.SUCCESS
    assert (intent.received_amount, intent.aggregated_amount) == (9_230_000, 9_230_000)
    assert (intent.refund_amount, intent.refund_tx_hash) == (None, None)
    assert intent.payment_tx_hash == data["payment_tx_hash"]
    assert intent.model_extra == {}


async def test_unknown_intent_answer_is_not_found() -> None:
    """The 4006 answer raises NotFoundError on a get."""
    server = Server("error_invalid_payment_intent_id.json", status=404)
    async with client_for(server) as client:
        with pytest.raises(NotFoundError) as info:
            await client.get_intent("pi_missing")
    assert info.value.api_code == 4006


def test_transfer_request_is_the_four_documented_strings() -> None:
    """A transfer without a note sends exactly the documented body."""
    request = TransferRequest(
        chain_id="arb",
        token_address=USDT,
        amount=10_000,
        decimals=6,
        wallet_address="0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045",
    )
    assert request.to_wire() == body("transfer_request.json")


async def test_documented_transfer_answer_is_executed() -> None:
    """The documented success body through KryptoGOClient.transfer: id, tx hash and time."""
    server = Server("transfer_success.json")
    request_body = body("transfer_request.json")
    async with client_for(server) as client:
        result = await client.transfer(
            TransferRequest(
                chain_id=request_body["chain_id"],
                token_address=request_body["contract_address"],
                amount=10_000,
                decimals=6,
                wallet_address=request_body["wallet_address"],
            )
        )
    assert len(server.requests) == 1
    assert json.loads(server.requests[0].content) == request_body
    assert result.transfer_id == "1-1627380000-1"
    assert result.tx_hash == body("transfer_success.json")["data"]["tx_hash"]
    assert result.transfer_time == datetime.fromtimestamp(1627380000, UTC)
    assert result.status is None
    assert result.problems == ()


@pytest.mark.parametrize("status", [200, 400, 500])
async def test_balance_not_enough_is_treasury_insufficient(status: int) -> None:
    """The 4015 body raises TreasuryInsufficient, an APIError with api_code 4015, never unknown."""
    server = Server("transfer_balance_not_enough.json", status=status)
    async with client_for(server) as client:
        with pytest.raises(TreasuryInsufficient) as info:
            await client.transfer(
                TransferRequest(
                    chain_id="arb",
                    token_address=USDT,
                    amount=200_000_000,
                    decimals=6,
                    wallet_address="0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045",
                )
            )
    error = info.value
    assert isinstance(error, APIError)
    assert not isinstance(error, OutcomeUnknownError)
    assert error.api_code == 4015
    assert (error.shortfall, error.shortfall_text) == (123_456_000, "123.456")
    assert "Balance not enough" in error.message
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("name", "status", "received", "aggregated", "refund"),
    [
        ("callback_success.json", PaymentStatus.SUCCESS, 9_230_000, 9_200_000, None),
        (
            "callback_insufficient_refunded.json",
            PaymentStatus.INSUFFICIENT_REFUNDED,
            5_100_000,
            None,
            5_100_000,
        ),
    ],
)
def test_callbacks_with_the_guide_amount_names(
    name: str,
    status: PaymentStatus,
    received: int,
    aggregated: int | None,
    refund: int | None,
) -> None:
    """Callbacks naming received_crypto_amount / aggregated_crypto_amount parse exactly."""
    parsed = read_callback(raw(name), {}, secret=None, now=0, window=300)
    intent = parsed.intent
    assert intent.status is status
    assert (intent.received_amount, intent.aggregated_amount) == (received, aggregated)
    assert intent.refund_amount == refund
    assert intent == PaymentIntent.model_validate(body(name))
    data, is_envelope = parse_body(raw(name))
    assert not is_envelope  # a callback is the bare intent, not an API envelope
    assert data["payment_intent_id"] == intent.payment_intent_id
