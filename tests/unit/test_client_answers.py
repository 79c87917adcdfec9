"""The client over httpx.MockTransport: the fiat minimum, and what each transfer answer means."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gamepay.errors import (
    AmountRangeError,
    AmountTooSmall,
    APIError,
    InvalidInput,
    OutcomeUnknownError,
    TreasuryInsufficient,
)
from gamepay.kryptogo import wire
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.kryptogo.transfers import TransferRequest

API_KEY = "sk_test_answers_0123456789"
USDT = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
WALLET = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"
INTENT = {
    "payment_intent_id": "pi_1",
    "payment_chain_id": "arb",
    "payment_address": WALLET,
    "token_address": USDT,
    "symbol": "USDT",
    "decimals": 6,
    "crypto_amount": "0.01",
    "fiat_amount": "0.01",
    "fiat_currency": "USD",
    "payment_deadline": 1733811354,
    "status": "pending",
}


class Recorder:
    """A MockTransport handler answering one fixed (status, content) and counting requests."""

    def __init__(self, status: int, content: bytes) -> None:
        self.status = status
        self.content = content
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Record the request and answer it."""
        self.requests.append(request)
        return httpx.Response(self.status, content=self.content)

    def bodies(self) -> list[Any]:
        """The JSON bodies received, in order."""
        return [json.loads(r.content) for r in self.requests]


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> KryptoGOClient:
    """A client whose every request goes to ``handler``; no real sleeping between retries."""

    async def no_sleep(_: float) -> None:
        return None

    return KryptoGOClient(
        client_id="client-1",
        api_key=API_KEY,
        origin="https://game.example",
        base_url="https://wallet.kryptogo.app",
        transport=httpx.MockTransport(handler),
        sleep=no_sleep,
    )


def transfer_request(reference: str = "") -> TransferRequest:
    """2.5 USDT on arb."""
    return TransferRequest(
        chain_id="arb",
        token_address=USDT,
        amount=2_500_000,
        decimals=6,
        wallet_address=WALLET,
        reference=reference,
    )


def encoded(body: Any) -> bytes:
    """``body`` as JSON bytes."""
    return json.dumps(body).encode()


@pytest.mark.parametrize("amount", ["0.001", "0.009", "0.0099999", "0.00999999999999999"])
async def test_fiat_amount_under_the_minimum_is_refused_before_sending(amount: str) -> None:
    """create_intent under 0.01 raises AmountTooSmall and sends no request at all."""
    recorder = Recorder(200, encoded(wire.ok_body(INTENT)))
    async with client_for(recorder) as client:
        with pytest.raises(AmountTooSmall) as info:
            await client.create_intent(fiat_amount=amount, fiat_currency="USD")
    assert recorder.requests == []
    assert isinstance(info.value, InvalidInput)
    assert isinstance(info.value, AmountRangeError)
    assert info.value.code == "amount_too_small"
    assert wire.MIN_FIAT_AMOUNT in info.value.message


@pytest.mark.parametrize("amount", ["0.01", "0.010", "00.01", "0.0100000001", "1"])
async def test_fiat_amount_at_the_minimum_is_sent(amount: str) -> None:
    """0.01 and more (however written) is sent as given, once."""
    recorder = Recorder(200, encoded(wire.ok_body(INTENT)))
    async with client_for(recorder) as client:
        intent = await client.create_intent(fiat_amount=amount, fiat_currency="USD")
    assert intent.payment_intent_id == "pi_1"
    assert [body["fiat_amount"] for body in recorder.bodies()] == [amount]


async def test_zero_is_still_a_range_error_not_too_small() -> None:
    """Zero keeps its own error (nothing to pay), and nothing is sent."""
    recorder = Recorder(200, encoded(wire.ok_body(INTENT)))
    async with client_for(recorder) as client:
        with pytest.raises(AmountRangeError) as info:
            await client.create_intent(fiat_amount="0.000", fiat_currency="USD")
    assert type(info.value) is AmountRangeError
    assert recorder.requests == []


async def test_transfer_sends_exactly_four_strings_never_the_reference() -> None:
    """The request body is the four documented fields, all strings; the local reference (a
    withdrawal's id) never goes on the wire."""
    recorder = Recorder(200, encoded(wire.ok_body({"id": "1-1-1", "tx_hash": "0xab"})))
    async with client_for(recorder) as client:
        await client.transfer(transfer_request(reference="gamepay/withdrawal/wd_1"))
    assert b"wd_1" not in recorder.requests[0].content
    (body,) = recorder.bodies()
    assert body == {
        "chain_id": "arb",
        "contract_address": USDT,
        "amount": "2.5",
        "wallet_address": WALLET,
    }


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"code": 0}),
        (200, {"code": 0, "data": None}),
        (200, {"code": 0, "data": "done"}),
        (200, {"code": 0, "data": {"id": 7, "tx_hash": ["0x"], "transfer_time": "soon"}}),
        (200, {"code": 0, "data": {"tx_hash": "0xab", "echo": API_KEY}}),
        (201, {"code": 0, "data": {"id": "1-1-1"}, "message": "created"}),
        (500, {"code": 0, "data": {"id": "1-1-1", "tx_hash": "0xab"}}),
    ],
)
async def test_code_zero_is_executed_even_when_the_data_is_odd(
    status: int, body: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """code 0 means executed: a result is returned (never OutcomeUnknownError), sent once."""
    recorder = Recorder(status, encoded(body))
    with caplog.at_level(logging.WARNING, logger="gamepay.kryptogo"):
        async with client_for(recorder) as client:
            result = await client.transfer(transfer_request("wd_odd"))
    assert len(recorder.requests) == 1
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        assert result.transfer_id == data["id"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned, "an odd success answer must be logged"
    assert any("raw body" in line for line in warned)
    assert all(API_KEY not in line for line in warned)


async def test_odd_answer_log_line_carries_the_raw_body(caplog: pytest.LogCaptureFixture) -> None:
    """The log line of an odd success shows what the service sent, to settle it by hand."""
    body = {"code": 0, "data": {"id": 12, "transfer_time": "soon", "extra": "kept"}}
    recorder = Recorder(200, encoded(body))
    with caplog.at_level(logging.WARNING, logger="gamepay.kryptogo"):
        async with client_for(recorder) as client:
            result = await client.transfer(transfer_request())
    assert result.transfer_id == "12"
    assert result.model_extra == {"extra": "kept"}
    assert len(result.problems) == 3  # a numeric id, no tx_hash, a garbled time
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert '"transfer_time":"soon"' in line
    assert '"extra":"kept"' in line


async def test_clean_documented_answer_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    """The documented success answer is read silently, with nothing odd."""
    body = {"code": 0, "data": {"id": "1-1627380000-1", "tx_hash": "0xab", "transfer_time": 1}}
    with caplog.at_level(logging.WARNING, logger="gamepay.kryptogo"):
        async with client_for(Recorder(200, encoded(body))) as client:
            result = await client.transfer(transfer_request())
    assert (result.transfer_id, result.problems) == ("1-1627380000-1", ())
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("status", [200, 400, 402, 409, 500, 503])
async def test_balance_not_enough_is_a_typed_refusal_sent_once(status: int) -> None:
    """4015 raises TreasuryInsufficient (an APIError) with the shortfall, whatever the status."""
    body = {"code": 4015, "message": "Balance not enough", "data": {"insufficient_amount": "1.5"}}
    recorder = Recorder(status, encoded(body))
    async with client_for(recorder) as client:
        with pytest.raises(TreasuryInsufficient) as info:
            await client.transfer(transfer_request("wd_short"))
    assert len(recorder.requests) == 1
    error = info.value
    assert isinstance(error, APIError)
    assert not isinstance(error, OutcomeUnknownError)
    assert (error.api_code, error.status) == (4015, status)
    assert (error.shortfall, error.shortfall_text) == (1_500_000, "1.5")


async def test_balance_not_enough_finer_than_the_token_keeps_the_text() -> None:
    """A shortfall the token's decimals cannot hold exactly is kept as text, never rounded."""
    body = {"code": 4015, "data": {"insufficient_amount": "0.0000001"}}
    async with client_for(Recorder(400, encoded(body))) as client:
        with pytest.raises(TreasuryInsufficient) as info:
            await client.transfer(transfer_request())
    assert (info.value.shortfall, info.value.shortfall_text) == (None, "0.0000001")


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (500, b""),
        (502, b"<html>Bad Gateway</html>"),
        (503, encoded({"code": 5000, "message": "internal"})),
        (200, b""),
        (200, b"OK"),
        (200, encoded({"data": {"id": "1-1-1"}})),
        (200, encoded({"code": "0", "data": {"id": "1-1-1"}})),
    ],
)
async def test_no_usable_answer_is_outcome_unknown(status: int, content: bytes) -> None:
    """No code-0 envelope and no refusal: the transfer may have happened, so it is unknown."""
    recorder = Recorder(status, content)
    async with client_for(recorder) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.transfer(transfer_request("wd_unknown"))
    assert len(recorder.requests) == 1
    assert (info.value.operation, info.value.reference) == ("transfer", "wd_unknown")


async def test_timeout_after_sending_is_outcome_unknown() -> None:
    """A read timeout after the request left: unknown, and never resent."""
    calls: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("no answer", request=request)

    async with client_for(slow) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.transfer(transfer_request("wd_slow"))
    assert len(calls) == 1


async def test_create_with_code_zero_but_no_intent_is_still_unknown() -> None:
    """Only a transfer reads code 0 as done: a create needs the intent, so it stays unknown."""
    recorder = Recorder(200, encoded({"code": 0}))
    async with client_for(recorder) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.create_intent(
                fiat_amount="1", fiat_currency="USD", order_data={"order_id": "o1"}
            )
    assert len(recorder.requests) == 1
