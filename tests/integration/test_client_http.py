"""KryptoGOClient over real HTTP against a tiny KryptoGO-speaking server with scripted faults.

These pin what the client does with each kind of answer and each transport failure: envelope
unwrapping, every error class, pagination, GET retries with backoff and Retry-After, and the
rule that a create or a transfer is never resent once it may have reached the server.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gamepay.errors import (
    AmountFormatError,
    AmountRangeError,
    AmountTypeError,
    AuthenticationError,
    ConfigError,
    GamepayError,
    InvalidInput,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    TransportError,
)
from gamepay.kryptogo import wire
from gamepay.kryptogo.client import KryptoGOClient, RequestEvent, ResponseEvent
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus
from gamepay.kryptogo.retry import RetryPolicy
from gamepay.kryptogo.transfers import TransferRequest
from tests.support.kryptogo_stub import (
    API_KEY,
    CLIENT_ID,
    PAY_TO,
    USDT,
    Fault,
    Stub,
    serve,
    silent_port,
)

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=5.0)


@pytest.fixture
async def stub() -> AsyncIterator[tuple[Stub, str]]:
    """A fresh stub served by uvicorn on port 0."""
    app = Stub()
    async with serve(app.app) as url:
        yield app, url


def make_client(base_url: str, /, **overrides: Any) -> KryptoGOClient:
    """A client with fast retries and pinned jitter, pointed at ``base_url``."""
    options: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "api_key": API_KEY,
        "origin": "https://game.example",
        "base_url": base_url,
        "timeout": 2.0,
        "retry": FAST,
        "jitter": lambda: 0.0,
    }
    options.update(overrides)
    return KryptoGOClient(**options)


def transfer_request(reference: str = "wd_0001") -> TransferRequest:
    """A 1.5 USDT transfer on arb."""
    return TransferRequest(
        chain_id="arb",
        token_address=USDT,
        amount=1_500_000,
        decimals=6,
        wallet_address=PAY_TO,
        reference=reference,
    )


class Sleeps:
    """Records the delays the client asked for (and yields to the loop without waiting)."""

    def __init__(self) -> None:
        """No delays yet."""
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        """Record one delay."""
        self.delays.append(delay)


async def test_every_endpoint_round_trips(stub: tuple[Stub, str]) -> None:
    """create, get, list and transfer send the documented request and unwrap the answer."""
    app, url = stub
    async with make_client(url) as client:
        order = {"order_id": "ord_1", "item_id": "100"}
        intent = await client.create_intent(
            fiat_amount="300.0",
            fiat_currency=FiatCurrency.TWD,
            callback_url="https://game.example/cb",
            order_data=order,
            group_key="buy_stone_with_usdt",
        )
        assert isinstance(intent, PaymentIntent)
        assert intent.crypto_amount == 9_230_000
        assert intent.order_data == order
        assert intent.status is PaymentStatus.PENDING
        assert app.seen[-1].body == {
            "fiat_amount": "300.0",
            "fiat_currency": "TWD",
            "callback_url": "https://game.example/cb",
            "order_data": order,
            "group_key": "buy_stone_with_usdt",
        }
        again = await client.get_intent(intent.payment_intent_id)
        assert again == intent
        listed = [i async for i in client.list_intents()]
        assert listed == [intent]
        result = await client.transfer(transfer_request())
        assert result.transfer_id == "1-1627380000-1"
        assert (result.status, result.problems) == (None, ())
        assert app.transfers[0]["amount"] == "1.5"
        assert app.transfers[0]["contract_address"] == USDT


async def test_authentication_errors(stub: tuple[Stub, str]) -> None:
    """A wrong key is 4002, a wrong client id 4001, both AuthenticationError with HTTP 401."""
    _, url = stub
    async with make_client(url, api_key="sk_wrong_key") as client:
        with pytest.raises(AuthenticationError) as wrong_key:
            await client.get_intent("pi_00001")
    async with make_client(url, client_id="someone-else") as client:
        with pytest.raises(AuthenticationError) as wrong_client:
            await client.create_intent(fiat_amount="1", fiat_currency="USD")
    assert (wrong_key.value.status, wrong_key.value.api_code) == (401, 4002)
    assert (wrong_client.value.status, wrong_client.value.api_code) == (401, 4001)
    assert wrong_client.value.body["code"] == 4001


async def test_unknown_intent_is_not_found(stub: tuple[Stub, str]) -> None:
    """An unknown intent id is NotFoundError 4006 / HTTP 404, asked once (no retry)."""
    app, url = stub
    async with make_client(url) as client:
        with pytest.raises(NotFoundError) as info:
            await client.get_intent("pi_nope")
    assert (info.value.status, info.value.api_code) == (404, 4006)
    assert app.count("GET", "/v1/studio/api/payment/intent/") == 1


async def test_bad_request_on_create_is_definite(stub: tuple[Stub, str]) -> None:
    """A 4000 on create is a refusal (InvalidRequestError), not an unknown outcome; sent once."""
    app, url = stub
    app.fail(wire.PATH_CREATE_INTENT, Fault("status", status=400, code=wire.CODE_BAD_REQUEST))
    async with make_client(url) as client:
        with pytest.raises(InvalidRequestError) as info:
            await client.create_intent(fiat_amount="300", fiat_currency="TWD")
    assert (info.value.status, info.value.api_code) == (400, 4000)
    assert app.count("POST", wire.PATH_CREATE_INTENT) == 1
    assert app.intents == {}


async def test_pagination_keeps_filters(stub: tuple[Stub, str]) -> None:
    """list_intents walks every page with the same filters and yields exactly the matches."""
    app, url = stub
    for n in range(40):
        app.add_intent(group_key=("a", "b")[n % 2], status=("pending", "success", "expired")[n % 3])
    start = next(iter(app.intents.values()))["created_at"] + 3
    expected = [
        i["payment_intent_id"]
        for i in app.intents.values()
        if i["group_key"] == "a" and i["status"] == "pending" and i["created_at"] >= start
    ]
    assert len(expected) > 5
    async with make_client(url) as client:
        got = [
            i.payment_intent_id
            async for i in client.list_intents(
                status=PaymentStatus.PENDING, group_key="a", created_after=start, page_size=2
            )
        ]
    assert got == expected
    pages = [s.query for s in app.seen if s.path == wire.PATH_LIST_INTENTS]
    assert [int(q["page"]) for q in pages] == list(range(1, len(pages) + 1))
    assert len(pages) == (len(expected) + 1) // 2
    for q in pages:
        assert q["status"] == "pending"
        assert q["group_key"] == "a"
        assert q["created_after"] == str(start)
        assert q["page_size"] == "2"


async def test_pagination_follows_a_server_capped_page_size(stub: tuple[Stub, str]) -> None:
    """A server serving fewer per page than asked is still walked to the end."""
    app, url = stub
    app.max_page_size = 3
    ids = [app.add_intent()["payment_intent_id"] for _ in range(10)]
    async with make_client(url) as client:
        got = [i.payment_intent_id async for i in client.list_intents(page_size=50)]
    assert got == ids
    assert app.count("GET", wire.PATH_LIST_INTENTS) == 4


async def test_pagination_stops_when_server_ignores_page(stub: tuple[Stub, str]) -> None:
    """A server that always serves page 1 (no total) ends the iteration instead of looping."""
    app, url = stub
    app.ignore_page = True
    ids = [app.add_intent()["payment_intent_id"] for _ in range(4)]
    async with make_client(url) as client:
        got = [i.payment_intent_id async for i in client.list_intents(page_size=2)]
    assert got == ids[:2]
    assert app.count("GET", wire.PATH_LIST_INTENTS) == 2


async def test_list_of_nothing_is_one_request(stub: tuple[Stub, str]) -> None:
    """An empty list ends after one request."""
    app, url = stub
    async with make_client(url) as client:
        assert [i async for i in client.list_intents(group_key="none")] == []
    assert app.count("GET", wire.PATH_LIST_INTENTS) == 1


async def test_get_retries_server_errors_with_backoff(stub: tuple[Stub, str]) -> None:
    """A GET answered 503 then 500 is retried with growing, jittered delays and succeeds."""
    app, url = stub
    intent = app.add_intent()
    app.fail(wire.PATH_GET_INTENT, Fault("status", status=503), Fault("status", status=500))
    sleeps = Sleeps()
    draws = iter([0.5, 0.0])
    async with make_client(url, sleep=sleeps, jitter=lambda: next(draws)) as client:
        got = await client.get_intent(intent["payment_intent_id"])
    assert got.payment_intent_id == intent["payment_intent_id"]
    assert app.count("GET", "/v1/studio/api/payment/intent/") == 3
    assert sleeps.delays == [pytest.approx(0.0075), pytest.approx(0.01)]


async def test_get_gives_up_after_max_attempts(stub: tuple[Stub, str]) -> None:
    """A GET that keeps failing raises the last ServerError after max_attempts tries."""
    app, url = stub
    app.fail(wire.PATH_LIST_INTENTS, *[Fault("status", status=500)] * 5)
    async with make_client(url) as client:
        with pytest.raises(ServerError) as info:
            _ = [i async for i in client.list_intents()]
    assert info.value.api_code == wire.CODE_SERVER_FAULT
    assert app.count("GET", wire.PATH_LIST_INTENTS) == 3


async def test_rate_limit_retry_after_is_honoured(stub: tuple[Stub, str]) -> None:
    """A 429 with Retry-After on a GET waits at least that long before retrying."""
    app, url = stub
    app.fail(
        wire.PATH_LIST_INTENTS,
        Fault("status", status=429, code=wire.CODE_RATE_LIMITED, headers={"Retry-After": "2"}),
    )
    sleeps = Sleeps()
    async with make_client(url, sleep=sleeps) as client:
        assert [i async for i in client.list_intents()] == []
    assert sleeps.delays == [2.0]


async def test_rate_limit_past_cap_raises_with_retry_after(stub: tuple[Stub, str]) -> None:
    """A Retry-After beyond the policy's cap stops retries; the error carries the wait."""
    app, url = stub
    app.fail(
        wire.PATH_LIST_INTENTS,
        Fault("status", status=429, code=wire.CODE_RATE_LIMITED, headers={"Retry-After": "60"}),
    )
    async with make_client(url) as client:
        with pytest.raises(RateLimitError) as info:
            _ = [i async for i in client.list_intents()]
    assert info.value.retry_after == 60.0
    assert app.count("GET", wire.PATH_LIST_INTENTS) == 1


async def test_get_latency_times_out_then_retries(stub: tuple[Stub, str]) -> None:
    """A GET slower than the timeout is retried and succeeds on the next, fast answer."""
    app, url = stub
    intent = app.add_intent()
    app.fail(wire.PATH_GET_INTENT, Fault("delay", seconds=1.0))
    async with make_client(url, timeout=0.3) as client:
        got = await client.get_intent(intent["payment_intent_id"])
    assert got.payment_intent_id == intent["payment_intent_id"]
    assert app.count("GET", "/v1/studio/api/payment/intent/") == 2


async def test_get_that_always_times_out_is_a_timeout_error(stub: tuple[Stub, str]) -> None:
    """A GET that never answers in time raises gamepay's RequestTimeout after its attempts."""
    app, url = stub
    app.fail(wire.PATH_GET_INTENT, *[Fault("delay", seconds=1.0)] * 2)
    async with make_client(
        url, timeout=0.2, retry=RetryPolicy(max_attempts=2, base_delay=0.01)
    ) as c:
        with pytest.raises(RequestTimeout):
            await c.get_intent("pi_00001")
    assert app.count("GET", "/v1/studio/api/payment/intent/") == 2


async def test_create_answered_too_late_is_outcome_unknown_and_not_resent(
    stub: tuple[Stub, str],
) -> None:
    """The server creates the intent but answers after the timeout: OutcomeUnknownError, once."""
    app, url = stub
    app.fail(wire.PATH_CREATE_INTENT, Fault("late", seconds=1.0))
    async with make_client(url, timeout=0.3) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.create_intent(
                fiat_amount="300.0", fiat_currency="TWD", order_data={"order_id": "ord_late"}
            )
    assert (info.value.operation, info.value.reference) == ("create_intent", "ord_late")
    assert app.count("POST", wire.PATH_CREATE_INTENT) == 1
    created = [i for i in app.intents.values() if i["order_data"] == {"order_id": "ord_late"}]
    assert len(created) == 1


async def test_transfer_answered_too_late_is_outcome_unknown_and_not_resent(
    stub: tuple[Stub, str],
) -> None:
    """The transfer executes but the answer comes too late: OutcomeUnknownError, one transfer."""
    app, url = stub
    app.fail(wire.PATH_TRANSFER, Fault("late", seconds=1.0))
    async with make_client(url, timeout=0.3) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.transfer(transfer_request("wd_late"))
    assert (info.value.operation, info.value.reference) == ("transfer", "wd_late")
    assert app.count("POST", wire.PATH_TRANSFER) == 1
    assert [t["amount"] for t in app.transfers] == ["1.5"]
    assert "note" not in app.transfers[0]  # the reference stays local


@pytest.mark.parametrize("fault", [Fault("status", status=500), Fault("html", status=502)])
async def test_unsafe_call_on_5xx_is_outcome_unknown(stub: tuple[Stub, str], fault: Fault) -> None:
    """A 5xx (envelope or HTML page) after a create/transfer was sent: unknown, never resent."""
    app, url = stub
    app.fail(wire.PATH_TRANSFER, fault)
    app.fail(wire.PATH_CREATE_INTENT, fault)
    async with make_client(url) as client:
        with pytest.raises(OutcomeUnknownError) as transfer_info:
            await client.transfer(transfer_request())
        with pytest.raises(OutcomeUnknownError) as create_info:
            await client.create_intent(fiat_amount="1.5", fiat_currency="USD")
    assert isinstance(transfer_info.value.__cause__, ServerError)
    assert isinstance(create_info.value.__cause__, ServerError)
    assert app.count("POST", wire.PATH_TRANSFER) == 1
    assert app.count("POST", wire.PATH_CREATE_INTENT) == 1


async def test_unsafe_call_refused_is_definite(stub: tuple[Stub, str]) -> None:
    """429 and 4000 on a transfer are definite refusals: typed APIError, sent once, no transfer."""
    app, url = stub
    app.fail(
        wire.PATH_TRANSFER,
        Fault("status", status=429, code=wire.CODE_RATE_LIMITED, headers={"Retry-After": "1"}),
        Fault("status", status=400, code=wire.CODE_BAD_REQUEST),
    )
    async with make_client(url) as client:
        with pytest.raises(RateLimitError):
            await client.transfer(transfer_request())
        with pytest.raises(InvalidRequestError):
            await client.transfer(transfer_request())
    assert app.count("POST", wire.PATH_TRANSFER) == 2
    assert app.transfers == []


async def test_html_page_on_get_is_retried_then_server_error(stub: tuple[Stub, str]) -> None:
    """An HTML 502 page on a GET is a ServerError carrying the page, after retries."""
    app, url = stub
    app.fail(wire.PATH_GET_INTENT, *[Fault("html", status=502)] * 3)
    async with make_client(url) as client:
        with pytest.raises(ServerError) as info:
            await client.get_intent("pi_1")
    assert info.value.status == 502
    assert info.value.api_code is None
    assert "Bad Gateway" in info.value.body
    assert app.count("GET", "/v1/studio/api/payment/intent/") == 3


async def test_bad_json_success(stub: tuple[Stub, str]) -> None:
    """A 200 that is not JSON: MalformedResponseError on a GET, OutcomeUnknownError on create."""
    app, url = stub
    app.fail(wire.PATH_GET_INTENT, Fault("badjson"))
    app.fail(wire.PATH_CREATE_INTENT, Fault("badjson"))
    async with make_client(url) as client:
        with pytest.raises(MalformedResponseError):
            await client.get_intent("pi_1")
        with pytest.raises(OutcomeUnknownError):
            await client.create_intent(fiat_amount="2", fiat_currency="USD")
    assert app.count("GET", "/v1/studio/api/payment/intent/") == 1


def _closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_retries_even_unsafe_calls() -> None:
    """A create that never reached a server (connection refused) is retried, then TransportError."""
    events: list[RequestEvent] = []
    url = f"http://127.0.0.1:{_closed_port()}"
    async with make_client(url, on_request=events.append) as client:
        with pytest.raises(TransportError) as info:
            await client.create_intent(fiat_amount="1", fiat_currency="USD")
    assert not isinstance(info.value, OutcomeUnknownError)
    assert [e.attempt for e in events] == [1, 2, 3]
    assert {e.operation for e in events} == {"create_intent"}


async def test_dropped_connection_after_send() -> None:
    """A connection closed after the request arrived: unknown for create (once), retried for GET."""
    async with silent_port("drop") as (url, hits), make_client(url) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.create_intent(
                fiat_amount="1", fiat_currency="USD", order_data={"order_id": "o9"}
            )
        assert info.value.reference == "o9"
        assert hits[0] == 1
        with pytest.raises(TransportError):
            await client.get_intent("pi_1")
        assert hits[0] == 4


async def test_garbage_answer_is_a_transport_error() -> None:
    """Bytes that are not HTTP are a transport failure: retried for GET, unknown for transfer."""
    async with silent_port("garbage") as (url, hits), make_client(url) as client:
        with pytest.raises(TransportError):
            await client.get_intent("pi_1")
        assert hits[0] == 3
        with pytest.raises(OutcomeUnknownError):
            await client.transfer(transfer_request())
        assert hits[0] == 4


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.create_intent(fiat_amount=300.0, fiat_currency="TWD"), AmountTypeError),
        (lambda c: c.create_intent(fiat_amount=300, fiat_currency="TWD"), AmountTypeError),
        (lambda c: c.create_intent(fiat_amount="1e3", fiat_currency="TWD"), AmountFormatError),
        (lambda c: c.create_intent(fiat_amount="-1", fiat_currency="TWD"), AmountFormatError),
        (lambda c: c.create_intent(fiat_amount=" 1", fiat_currency="TWD"), AmountFormatError),
        (lambda c: c.create_intent(fiat_amount="NaN", fiat_currency="TWD"), AmountFormatError),
        (lambda c: c.create_intent(fiat_amount="0.00", fiat_currency="TWD"), AmountRangeError),
        (lambda c: c.create_intent(fiat_amount="1", fiat_currency="EUR"), InvalidInput),
        (
            lambda c: c.create_intent(
                fiat_amount="1", fiat_currency="TWD", order_data={"x": "y" * 995}
            ),
            InvalidInput,
        ),
        (
            lambda c: c.create_intent(
                fiat_amount="1", fiat_currency="TWD", order_data={"x": object()}
            ),
            InvalidInput,
        ),
        (
            lambda c: c.create_intent(
                fiat_amount="1", fiat_currency="TWD", order_data={"x": float("nan")}
            ),
            InvalidInput,
        ),
        (
            lambda c: c.create_intent(fiat_amount="1", fiat_currency="TWD", callback_url="ftp://x"),
            InvalidInput,
        ),
        (
            lambda c: c.create_intent(fiat_amount="1", fiat_currency="TWD", group_key=""),
            InvalidInput,
        ),
        (lambda c: c.get_intent(""), InvalidInput),
        (lambda c: c.transfer({"amount": 1}), InvalidInput),
    ],
)
async def test_bad_input_is_refused_before_sending(
    stub: tuple[Stub, str], call: Callable[[KryptoGOClient], Any], error: type[Exception]
) -> None:
    """Every bad argument raises its typed error and nothing reaches the server."""
    app, url = stub
    async with make_client(url) as client:
        with pytest.raises(error):
            await call(client)
    assert app.seen == []


async def test_order_data_limit_is_inclusive(stub: tuple[Stub, str]) -> None:
    """order_data of exactly 1000 marshalled characters is accepted; 1001 is refused."""
    app, url = stub
    exact = {"x": "y" * (wire.ORDER_DATA_MAX_CHARS - len('{"x":""}'))}
    assert wire.marshalled_length(exact) == wire.ORDER_DATA_MAX_CHARS
    async with make_client(url) as client:
        intent = await client.create_intent(fiat_amount="1", fiat_currency="TWD", order_data=exact)
        assert intent.order_data == exact
        with pytest.raises(InvalidInput):
            await client.create_intent(
                fiat_amount="1", fiat_currency="TWD", order_data={"x": exact["x"] + "y"}
            )
    assert app.count("POST", wire.PATH_CREATE_INTENT) == 1


async def test_list_arguments_are_checked_eagerly() -> None:
    """list_intents refuses bad filters when called, before any iteration."""
    async with make_client("http://127.0.0.1:9") as client:
        _check_list_arguments(client)


def _check_list_arguments(client: KryptoGOClient) -> None:
    """Each bad filter raises InvalidInput from the call itself."""
    with pytest.raises(InvalidInput):
        client.list_intents(status="paid")
    with pytest.raises(InvalidInput):
        client.list_intents(page_size=0)
    with pytest.raises(InvalidInput):
        client.list_intents(page_size=wire.MAX_PAGE_SIZE + 1)
    with pytest.raises(InvalidInput):
        client.list_intents(created_after=-5)
    with pytest.raises(InvalidInput):
        client.list_intents(created_before=1.5)  # type: ignore[arg-type]


def test_configuration_is_checked() -> None:
    """Missing credentials or a bad base URL are ConfigError at construction."""
    for overrides in (
        {"api_key": ""},
        {"client_id": "a\nb"},
        {"origin": None},
        {"base_url": "wallet.kryptogo.app"},
        {"timeout": 0},
        {"timeout": True},
    ):
        with pytest.raises(ConfigError):
            make_client("http://127.0.0.1:9", **overrides)


async def test_hooks_see_every_attempt_and_cannot_break_calls(stub: tuple[Stub, str]) -> None:
    """on_request/on_response get one event per attempt; a raising hook is logged, not fatal."""
    app, url = stub
    intent = app.add_intent()
    app.fail(wire.PATH_GET_INTENT, Fault("status", status=500))
    requests: list[RequestEvent] = []
    responses: list[ResponseEvent] = []

    def broken(_: RequestEvent) -> None:
        requests.append(_)
        raise RuntimeError("metrics backend down")

    async with make_client(url, on_request=broken, on_response=responses.append) as client:
        await client.get_intent(intent["payment_intent_id"])
    assert [(e.operation, e.attempt) for e in requests] == [("get_intent", 1), ("get_intent", 2)]
    assert [(e.status, e.error) for e in responses] == [(500, "api_error"), (200, None)]
    assert all(e.elapsed >= 0 for e in responses)


async def test_httpx_event_hooks_feed_metrics(stub: tuple[Stub, str]) -> None:
    """event_hooks reach httpx: gamepay.metrics counts every attempt by endpoint and status."""
    from gamepay.metrics import Metrics

    app, url = stub
    intent = app.add_intent()
    app.fail(wire.PATH_GET_INTENT, Fault("status", status=503))
    metrics = Metrics()
    async with make_client(url, event_hooks=metrics.httpx_event_hooks()) as client:
        await client.get_intent(intent["payment_intent_id"])
    text = metrics.render().decode()
    counted = [
        line
        for line in text.splitlines()
        if line.startswith("gamepay_kryptogo_requests_total{") and 'method="GET"' in line
    ]
    assert any('status="503"' in line and line.endswith(" 1.0") for line in counted), counted
    assert any('status="200"' in line and line.endswith(" 1.0") for line in counted), counted


async def test_api_key_never_leaks(
    stub: tuple[Stub, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The key is absent from logs, the client's repr and every error's str, repr, body, cause."""
    caplog.set_level(logging.DEBUG)
    app, url = stub
    errors: list[BaseException] = []
    app.fail(wire.PATH_GET_INTENT, Fault("echo_key"), Fault("html"), Fault("badjson"))
    app.fail(wire.PATH_CREATE_INTENT, Fault("late", seconds=1.0), Fault("status", status=500))
    app.fail(wire.PATH_TRANSFER, Fault("echo_key"))
    async with make_client(url, timeout=0.3, retry=RetryPolicy(max_attempts=1)) as client:
        assert API_KEY not in repr(client)
        for call in (
            lambda: client.get_intent("pi_1"),
            lambda: client.get_intent("pi_2"),
            lambda: client.get_intent("pi_3"),
            lambda: client.get_intent("pi_4"),
            lambda: client.create_intent(fiat_amount="1", fiat_currency="USD"),
            lambda: client.create_intent(fiat_amount="1", fiat_currency="USD"),
            lambda: client.transfer(transfer_request()),
            lambda: client.create_intent(fiat_amount=1.0, fiat_currency="USD"),  # type: ignore[arg-type]
        ):
            with pytest.raises(GamepayError) as info:
                await call()
            errors.append(info.value)
    async with make_client(url, api_key=API_KEY + "x") as client:
        with pytest.raises(AuthenticationError) as auth:
            await client.get_intent("pi_1")
        errors.append(auth.value)
    async with make_client(f"http://127.0.0.1:{_closed_port()}") as client:
        with pytest.raises(TransportError) as refused:
            await client.get_intent("pi_1")
        errors.append(refused.value)
    assert "from key ***" in errors[0].message  # the server echoed it; we masked it
    for error in errors:
        chain: BaseException | None = error
        while chain is not None:
            texts = [str(chain), repr(chain), repr(getattr(chain, "body", None))]
            assert not any(API_KEY in t for t in texts), texts
            chain = chain.__cause__ or chain.__context__
    assert API_KEY not in caplog.text
    assert any(r.name == "gamepay.kryptogo" for r in caplog.records)


async def test_in_process_asgi_transport() -> None:
    """The same client runs in-process against the app through httpx.ASGITransport."""
    app = Stub()
    intent = app.add_intent(group_key="g")
    transport = httpx.ASGITransport(app=app.app)
    async with make_client("http://kryptogo.test", transport=transport) as client:
        got = await client.get_intent(intent["payment_intent_id"])
        listed = [i async for i in client.list_intents(group_key="g")]
        result = await client.transfer(transfer_request())
    assert got.payment_intent_id == intent["payment_intent_id"]
    assert listed == [got]
    assert result.transfer_id == "1-1627380000-1"
