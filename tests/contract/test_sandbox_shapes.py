"""The sandbox's answers pass the same shape checks as the documented bodies in this folder.

A shape is a body's JSON structure with every value replaced by its JSON type. The sandbox must
answer each documented call with the documented shape (a transfer, 4015, 4006 exactly; an
intent with every documented field, of the documented type where both are non-null), so our
emulator cannot drift from the evidence again. Run against a STRICT sandbox over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gamepay.kryptogo import wire
from gamepay.sandbox import SandboxConfig
from gamepay.testing import RunningSandbox, running_sandbox

HERE = Path(__file__).parent


def fixture(name: str) -> Any:
    """A documented body of this folder, parsed."""
    return json.loads((HERE / name).read_text())


def shape(value: Any) -> Any:
    """The JSON structure of ``value``: objects keep their keys, leaves become type names."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def check_exact(answer: Any, documented: Any) -> None:
    """``answer`` has exactly the documented shape (keys and types)."""
    assert shape(answer) == shape(documented)


def check_intent_envelope(answer: Any, documented: Any) -> None:
    """Every documented intent field is present, of the documented type when both are set."""
    assert answer["code"] == 0
    got, want = answer["data"], documented["data"]
    missing = set(want) - set(got)
    assert not missing, missing
    for key, value in want.items():
        if value is not None and got[key] is not None:
            assert shape(got[key]) == shape(value) or key == "order_data", key


@pytest.fixture
async def strict() -> AsyncIterator[tuple[RunningSandbox, httpx.AsyncClient]]:
    """A strict sandbox served over HTTP, and a plain client with its credentials."""
    config = SandboxConfig(seed=5, frozen_clock=True, start_time=1_627_380_000, strict=True)
    async with (
        running_sandbox(config) as running,
        httpx.AsyncClient(base_url=running.url, headers=running.headers()) as client,
    ):
        yield running, client


def test_the_shape_checks_can_fail() -> None:
    """The checks refuse a renamed, retyped or missing field (the old guessed answer)."""
    documented = fixture("transfer_success.json")
    guessed = {"code": 0, "data": {"transfer_id": "tr_1", "tx_hash": "0x1", "status": "success"}}
    with pytest.raises(AssertionError):
        check_exact(guessed, documented)
    retyped = {"code": 0, "data": {"id": "1", "tx_hash": "0x1", "transfer_time": "1627380000"}}
    with pytest.raises(AssertionError):
        check_exact(retyped, documented)
    created = fixture("create_intent_response.json")
    without = {"code": 0, "data": {k: v for k, v in created["data"].items() if k != "symbol"}}
    with pytest.raises(AssertionError):
        check_intent_envelope(without, created)


async def test_sandbox_answers_have_the_documented_shapes(
    strict: tuple[RunningSandbox, httpx.AsyncClient],
) -> None:
    """Create, get, the transfer, 4015 and 4006 answers match the fixtures' shapes."""
    running, client = strict
    request = fixture("create_intent_request.json")
    created = (await client.post(wire.PATH_CREATE_INTENT, json=request)).json()
    check_intent_envelope(created, fixture("create_intent_response.json"))
    intent_id = created["data"]["payment_intent_id"]
    running.sandbox.pay(intent_id, "exact")
    got = (await client.get(wire.intent_path(intent_id))).json()
    check_intent_envelope(got, fixture("get_intent_response.json"))
    transfer = fixture("transfer_request.json")
    short = (await client.post(wire.PATH_TRANSFER, json=transfer)).json()
    check_exact(short, fixture("transfer_balance_not_enough.json"))
    assert short["data"]["insufficient_amount"] == "0.01"
    running.sandbox.fund("arb", "USDT", "1")
    done = (await client.post(wire.PATH_TRANSFER, json=transfer)).json()
    check_exact(done, fixture("transfer_success.json"))
    assert done["data"]["transfer_time"] == 1_627_380_000
    missing = (await client.get(wire.intent_path("pi_missing"))).json()
    check_exact(missing, fixture("error_invalid_payment_intent_id.json"))
