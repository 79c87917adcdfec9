"""Hypothesis-generated malformed and hostile frames against a live server: every frame gets one
typed reply, nothing crashes, nothing is half-applied, and another connection keeps working.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

import gamepay.errors
from gamepay_ws import AdapterConfig
from gamepay_ws.protocol import CLIENT_TYPES, RequestIdRequired
from tests.support.shop_thread import ThreadedShop, shop_in_thread

ERROR_CODES = {
    cls.code
    for _, cls in inspect.getmembers(gamepay.errors, inspect.isclass)
    if issubclass(cls, gamepay.errors.GamepayError)
} | {RequestIdRequired.code}
"""Every code a typed error reply may carry (``internal_error`` is deliberately not here)."""

EXAMPLES = 150 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 60


@pytest.fixture(scope="module")
def threaded() -> Iterator[ThreadedShop]:
    """One shop for the module: the point is that it survives every hostile frame."""
    config = AdapterConfig(rate_burst=100_000, rate_per_second=100_000)
    with shop_in_thread(adapter_config=config) as running:
        running.call(running.shop.give_gold("mallory", 10_000))
        yield running


def _reply(ws: ClientConnection) -> dict[str, Any]:
    """The next frame that is not a push."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=15))
        if message["type"] not in ("event", "replay_complete"):
            return message


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["sword", "potion", "0", "1", "1.5", "-1", "1e3", "NaN", "", "USD", "TWD"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(
    [
        "id",
        "token",
        "sku",
        "amount",
        "currency",
        "asset",
        "address",
        "request_id",
        "limit",
        "after",
        "last_event_id",
        "player_id",
        "type",
    ]
) | st.text(max_size=8)
objects = st.builds(
    lambda type_, fields: {"type": type_, **fields},
    st.sampled_from([*CLIENT_TYPES, "admin", "grant", ""]) | st.text(max_size=12) | values,
    st.dictionaries(field_names, values, max_size=6),
)
frames = (
    objects.map(lambda obj: json.dumps(obj, allow_nan=True))
    | values.map(lambda v: json.dumps(v, allow_nan=True))
    | st.text(max_size=200)
    | st.binary(max_size=200)
    | st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth)
    | st.integers(1, 3000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth)
)


def test_hostile_frames_get_typed_replies_and_the_server_carries_on(
    threaded: ThreadedShop,
) -> None:
    """Each frame gets exactly one reply: a result or an error with a known code."""
    shop = threaded.shop
    with connect(shop.ws_url, max_size=2**22) as ws, connect(shop.ws_url) as bystander:
        ws.send(json.dumps({"type": "authenticate", "id": 0, "token": shop.token("mallory")}))
        assert _reply(ws)["type"] == "authenticate_result"
        bystander.send(json.dumps({"type": "authenticate", "id": 0, "token": shop.token("eve")}))
        assert _reply(bystander)["type"] == "authenticate_result"
        seen: set[str] = set()

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(frame=frames)
        def one_frame(frame: str | bytes) -> None:
            ws.send(frame)
            reply = _reply(ws)
            if reply["type"] == "error":
                assert reply["code"] in ERROR_CODES, reply
                assert isinstance(reply["message"], str)
                seen.add(reply["code"])
            else:
                assert reply["type"].endswith("_result"), reply

        one_frame()
        assert {"bad_json", "bad_message"} <= seen
        for i in range(3):
            bystander.send(json.dumps({"type": "ping", "id": i}))
            assert _reply(bystander) == {"type": "ping_result", "id": i}
        ws.send(json.dumps({"type": "ping", "id": "still-here"}))
        assert _reply(ws) == {"type": "ping_result", "id": "still-here"}
    report = threaded.call(shop.payments.ledger.verify())
    assert report.ok, report.problems


@given(amount=st.floats(allow_nan=False) | st.integers(0, 10**30))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_numbers_for_amounts_are_amount_type_errors(threaded: ThreadedShop, amount: float) -> None:
    """A JSON number where an amount is due is refused with amount_type, and nothing moves."""
    shop = threaded.shop
    with connect(shop.ws_url) as ws:
        ws.send(json.dumps({"type": "authenticate", "id": 0, "token": shop.token("mallory")}))
        assert _reply(ws)["type"] == "authenticate_result"
        token = shop.withdrawable[0]["asset"]
        for message in (
            {"type": "top_up", "id": 1, "amount": amount, "currency": "USD", "request_id": "t"},
            {
                "type": "withdraw",
                "id": 2,
                "asset": token,
                "amount": amount,
                "address": "0x" + "1" * 40,
                "request_id": "w",
            },
        ):
            ws.send(json.dumps(message))
            reply = _reply(ws)
            assert (reply["type"], reply["code"], reply["id"]) == (
                "error",
                "amount_type",
                message["id"],
            )
