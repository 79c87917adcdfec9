"""The sandbox's four KryptoGO endpoints over real HTTP: shapes, auth, hostile input, listing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gamepay.kryptogo.models import PaymentIntent
from gamepay.sandbox import SandboxConfig
from gamepay.testing import RunningSandbox, running_sandbox

CREATE = "/v1/studio/api/payment/intent"
LIST = "/v1/studio/api/payment/intents"
TRANSFER = "/v1/studio/api/asset_pro/transfer"
START = 1_750_000_000
ARB_USDT = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox on a frozen clock, served on a free port."""
    config = SandboxConfig(seed=7, start_time=START, frozen_clock=True)
    async with running_sandbox(config) as running:
        yield running


@pytest.fixture
async def http(served: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client carrying the sandbox's credentials."""
    async with httpx.AsyncClient(base_url=served.url, headers=served.headers()) as client:
        yield client


def assert_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """The response is the API's error envelope with this HTTP status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["data"] is None
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


async def create(http: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """Create an intent (300 TWD by default) and return its wire data."""
    body = {"fiat_amount": "300.0", "fiat_currency": "TWD", **fields}
    response = await http.post(CREATE, json=body)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["code"] == 0
    data: dict[str, Any] = envelope["data"]
    return data


async def test_create_answers_a_full_intent(http: httpx.AsyncClient) -> None:
    """Create returns every documented field with exact formats, parseable by our model."""
    order = {"order_id": "uid_12345", "item_id": "100", "customer_id": "0x03971234567890"}
    data = await create(http, order_data=order, group_key="buy_stone_with_usdt")
    assert data["status"] == "pending"
    assert data["payment_chain_id"] == "arb"
    assert data["token_address"] == ARB_USDT
    assert data["symbol"] == "USDT"
    assert data["decimals"] == 6
    # 300 TWD at 32.5 TWD/USDT = 9.2307692..., rounded UP to 6 places.
    assert data["crypto_amount"] == "9.23077"
    assert data["fiat_amount"] == "300.0"
    assert data["fiat_currency"] == "TWD"
    assert data["created_at"] == START
    assert data["payment_deadline"] == START + 900
    assert data["order_data"] == order
    assert data["group_key"] == "buy_stone_with_usdt"
    for name in ("payment_tx_hash", "received_amount", "aggregated_amount", "refund_amount"):
        assert data[name] is None
    intent = PaymentIntent.model_validate(data)
    assert intent.crypto_amount == 9_230_770
    assert intent.to_wire() == data


async def test_create_addresses_are_checksummed_and_distinct(http: httpx.AsyncClient) -> None:
    """Each intent gets its own EIP-55 payment address."""
    from eth_utils.address import is_checksum_address

    first, second = await create(http), await create(http)
    assert first["payment_intent_id"] != second["payment_intent_id"]
    assert first["payment_address"] != second["payment_address"]
    assert is_checksum_address(first["payment_address"])


async def test_get_returns_the_created_intent(http: httpx.AsyncClient) -> None:
    """Get answers the same intent as create did."""
    data = await create(http, callback_url="https://game.example/cb")
    response = await http.get(f"{CREATE}/{data['payment_intent_id']}")
    assert response.status_code == 200
    assert response.json() == {"code": 0, "data": data}


async def test_get_unknown_intent_is_4006(http: httpx.AsyncClient) -> None:
    """An unknown intent id answers 4006 with HTTP 404."""
    assert_error(await http.get(f"{CREATE}/pi_nope"), 404, 4006)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"X-Client-ID": "wrong"}, 401, 4001),
        ({"X-Client-ID": ""}, 401, 4001),
        ({"X-STUDIO-API-KEY": "wrong"}, 401, 4002),
        ({"X-STUDIO-API-KEY": ""}, 401, 4002),
        ({"Origin": ""}, 400, 4000),
    ],
)
async def test_auth_errors(
    served: RunningSandbox, headers: dict[str, str], status: int, code: int
) -> None:
    """A wrong client id is 4001, a wrong key 4002 (HTTP 401), a missing Origin 4000."""
    merged = {**served.headers(), **headers}
    async with httpx.AsyncClient(base_url=served.url, headers=merged) as client:
        for call in (
            client.post(CREATE, json={"fiat_amount": "1", "fiat_currency": "USD"}),
            client.get(f"{CREATE}/pi_x"),
            client.get(LIST),
            client.post(TRANSFER, json={}),
        ):
            assert_error(await call, status, code)


async def test_missing_headers_are_refused(served: RunningSandbox) -> None:
    """No auth headers at all: 4001 first."""
    async with httpx.AsyncClient(base_url=served.url) as client:
        assert_error(await client.get(LIST), 401, 4001)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b'"text"',
        b'{"fiat_amount": NaN, "fiat_currency": "USD"}',
    ],
)
async def test_malformed_bodies_are_4000(http: httpx.AsyncClient, body: bytes) -> None:
    """Bad JSON, or JSON that is not an object, gets 4000 with HTTP 400."""
    response = await http.post(CREATE, content=body, headers={"Content-Type": "application/json"})
    assert_error(response, 400, 4000)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"fiat_currency": "USD"}, "fiat_amount is required"),
        ({"fiat_amount": "1"}, "fiat_currency is required"),
        ({"fiat_amount": 10.5, "fiat_currency": "USD"}, "decimal string"),
        ({"fiat_amount": 10, "fiat_currency": "USD"}, "decimal string"),
        ({"fiat_amount": True, "fiat_currency": "USD"}, "decimal string"),
        ({"fiat_amount": "1e3", "fiat_currency": "USD"}, "plain decimal"),
        ({"fiat_amount": "-5", "fiat_currency": "USD"}, "plain decimal"),
        ({"fiat_amount": " 5", "fiat_currency": "USD"}, "plain decimal"),
        ({"fiat_amount": "0.00", "fiat_currency": "USD"}, "at least 0.01"),
        ({"fiat_amount": "0.0099", "fiat_currency": "USD"}, "at least 0.01"),
        ({"fiat_amount": "9" * 41, "fiat_currency": "USD"}, "plain decimal"),
        ({"fiat_amount": "1", "fiat_currency": "EUR"}, "fiat_currency"),
        ({"fiat_amount": "1", "fiat_currency": "usd"}, "fiat_currency"),
        ({"fiat_amount": "1", "fiat_currency": 1}, "fiat_currency"),
        ({"fiat_amount": "1", "fiat_currency": "USD", "order_data": [1]}, "order_data"),
        ({"fiat_amount": "1", "fiat_currency": "USD", "order_data": "x"}, "order_data"),
        ({"fiat_amount": "1", "fiat_currency": "USD", "group_key": 5}, "group_key"),
        ({"fiat_amount": "1", "fiat_currency": "USD", "callback_url": 5}, "callback_url"),
        ({"fiat_amount": "1", "fiat_currency": "USD", "callback_url": "ftp://x"}, "callback_url"),
    ],
)
async def test_bad_create_fields_are_4000(
    http: httpx.AsyncClient, fields: dict[str, Any], fragment: str
) -> None:
    """Missing fields, wrong types, floats, unknown currency: 4000 naming the problem."""
    body = assert_error(await http.post(CREATE, json=fields), 400, 4000)
    assert fragment in body["message"]


async def test_order_data_limit_is_1000_marshalled_characters(http: httpx.AsyncClient) -> None:
    """order_data of exactly 1000 compact-JSON characters passes; 1001 is refused."""
    overhead = len(json.dumps({"k": ""}, separators=(",", ":")))
    fits = {"k": "x" * (1000 - overhead)}
    data = await create(http, order_data=fits)
    assert data["order_data"] == fits
    too_big = {"k": "x" * (1001 - overhead)}
    response = await http.post(
        CREATE, json={"fiat_amount": "1", "fiat_currency": "USD", "order_data": too_big}
    )
    body = assert_error(response, 400, 4000)
    assert "1001" in body["message"]


async def test_unknown_fields_are_ignored_and_nothing_half_created(
    http: httpx.AsyncClient,
) -> None:
    """An extra field is tolerated; a refused create leaves no intent behind."""
    await create(http, extra_field={"a": 1})
    await http.post(CREATE, json={"fiat_amount": 1.5, "fiat_currency": "USD"})
    listing = (await http.get(LIST)).json()["data"]
    assert listing["total_count"] == 1


async def test_unknown_route_and_method(http: httpx.AsyncClient) -> None:
    """Unknown paths are 4040 and wrong methods 4050, in the error envelope."""
    assert_error(await http.get("/v1/studio/api/nothing"), 404, 4040)
    assert_error(await http.get(CREATE), 405, 4050)
    assert_error(await http.delete(f"{CREATE}/pi_x"), 405, 4050)


async def test_list_pages_in_creation_order(
    served: RunningSandbox, http: httpx.AsyncClient
) -> None:
    """Pagination walks every intent once, in creation order, with a stable total."""
    made = []
    for n in range(7):
        made.append((await create(http, fiat_amount=f"{n + 1}.5"))["payment_intent_id"])
        served.sandbox.advance(10)
    seen = []
    for page in (1, 2, 3):
        response = await http.get(LIST, params={"page": page, "page_size": 3})
        data = response.json()["data"]
        assert data["page"] == page
        assert data["page_size"] == 3
        assert data["total_count"] == 7
        seen += [item["payment_intent_id"] for item in data["payment_intents"]]
    assert seen == made
    empty = (await http.get(LIST, params={"page": 4, "page_size": 3})).json()["data"]
    assert empty["payment_intents"] == []
    assert empty["total_count"] == 7


async def test_list_filters(served: RunningSandbox, http: httpx.AsyncClient) -> None:
    """status, group_key and created_after (inclusive) / created_before (exclusive) filter."""
    a = await create(http, group_key="gems")
    served.sandbox.advance(100)
    b = await create(http, group_key="gold")
    served.sandbox.advance(100)
    c = await create(http, group_key="gems")
    served.sandbox.pay(c["payment_intent_id"], "exact")

    async def ids(**params: Any) -> list[str]:
        data = (await http.get(LIST, params=params)).json()["data"]
        assert data["total_count"] == len(data["payment_intents"])
        return [item["payment_intent_id"] for item in data["payment_intents"]]

    a_id, b_id, c_id = (x["payment_intent_id"] for x in (a, b, c))
    assert await ids(group_key="gems") == [a_id, c_id]
    assert await ids(status="success") == [c_id]
    assert await ids(status="pending", group_key="gems") == [a_id]
    assert await ids(created_after=START + 100) == [b_id, c_id]
    assert await ids(created_before=START + 100) == [a_id]
    assert await ids(created_before=START + 101) == [a_id, b_id]
    assert await ids(created_after=START + 100, created_before=START + 200) == [b_id]


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "-1"},
        {"page": "x"},
        {"page_size": "0"},
        {"page_size": "1.5"},
        {"status": "paid"},
        {"created_after": "yesterday"},
    ],
)
async def test_bad_list_params_are_4000(http: httpx.AsyncClient, params: dict[str, str]) -> None:
    """Out-of-range pages, page_size above 100, unknown status: 4000."""
    assert_error(await http.get(LIST, params=params), 400, 4000)


async def test_list_page_size_is_capped_at_100(http: httpx.AsyncClient) -> None:
    """page_size=100 is served as asked; above it the answer is capped at 100."""
    for asked in (100, 101, 5000):
        response = await http.get(LIST, params={"page_size": asked})
        assert response.json()["data"]["page_size"] == 100


async def test_18_decimal_token_by_group(served: RunningSandbox) -> None:
    """group_tokens route a group's intents to an 18-decimal token, quoted exactly."""
    config = SandboxConfig(seed=1, frozen_clock=True, group_tokens={"dai": "eth:DAI"})
    async with (
        running_sandbox(config) as other,
        httpx.AsyncClient(base_url=other.url, headers=other.headers()) as client,
    ):
        data = await create(client, fiat_amount="1", fiat_currency="TWD", group_key="dai")
    assert data["payment_chain_id"] == "eth"
    assert data["decimals"] == 18
    # 1 / 32.5 = 0.030769230769230769230..., rounded up at 18 places.
    assert data["crypto_amount"] == "0.03076923076923077"
    assert PaymentIntent.model_validate(data).crypto_amount == 30_769_230_769_230_770


async def test_order_data_limit_counts_characters_not_bytes(http: httpx.AsyncClient) -> None:
    """Non-ASCII order_data is measured in characters: 1000 of them pass, 1001 do not."""
    overhead = len(json.dumps({"k": ""}, separators=(",", ":")))
    fits = {"k": "é" * (1000 - overhead)}
    assert (await create(http, order_data=fits))["order_data"] == fits
    too_big = {"k": "é" * (1001 - overhead)}
    body = {"fiat_amount": "1", "fiat_currency": "USD", "order_data": too_big}
    assert_error(await http.post(CREATE, json=body), 400, 4000)
