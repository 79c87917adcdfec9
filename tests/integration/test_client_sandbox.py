"""KryptoGOClient against the KryptoGO sandbox served by uvicorn on port 0, over real HTTP.

Every endpoint, every error the sandbox answers, pagination with filters, GET retries on the
sandbox's injected API errors and latency, and the unknown-outcome cases: the sandbox commits a
create or a transfer and then loses the answer; the client raises OutcomeUnknownError, never
resends, and the sandbox's own records show the intent / transfer exactly once. (This module
absorbed test_sandbox_client.py, whose checks were the same run as these; see each docstring.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gamepay.errors import (
    AuthenticationError,
    InvalidInput,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    TreasuryInsufficient,
)
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus
from gamepay.kryptogo.retry import RetryPolicy
from gamepay.kryptogo.transfers import TransferRequest
from gamepay.sandbox import Faults, Sandbox, SandboxConfig, create_app
from gamepay.sandbox.faults import ApiFault, FaultPlan
from gamepay.testing import RunningSandbox, running_sandbox

USDT = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
GPT = "0x4E107D9D509d8aE2010D4Fb8f1A18EfaA2e94637"
WALLET = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"
FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)


@pytest.fixture
async def sb() -> AsyncIterator[RunningSandbox]:
    """A fresh STRICT sandbox (fixed seed, frozen clock) served over real HTTP."""
    config = SandboxConfig(seed=7, frozen_clock=True, start_time=1_760_000_000, strict=True)
    async with running_sandbox(config) as running:
        yield running


def client_for(sb: RunningSandbox, **overrides: Any) -> KryptoGOClient:
    """A client with the sandbox's credentials, fast retries and pinned jitter."""
    options: dict[str, Any] = {
        "client_id": sb.client_id,
        "api_key": sb.api_key,
        "origin": sb.origin,
        "base_url": sb.url,
        "timeout": 5.0,
        "retry": FAST,
        "jitter": lambda: 0.0,
    }
    options.update(overrides)
    return KryptoGOClient(**options)


def api_calls(sandbox: Sandbox, operation: str) -> list[dict[str, Any]]:
    """The sandbox's log of API calls of ``operation`` since the faults were last set."""
    return [e for e in sandbox.plan.log if e["kind"] == "api" and e["operation"] == operation]


def seed_where(
    make: Callable[[int], Faults], operation: str, wanted: Callable[[list[ApiFault]], bool], n: int
) -> Faults:
    """The first seeded fault configuration whose next ``n`` draws for ``operation`` fit."""
    for seed in range(10_000):
        faults = make(seed)
        plan = FaultPlan(faults)
        if wanted([plan.for_api(operation) for _ in range(n)]):  # type: ignore[arg-type]
            return faults
    raise AssertionError("no seed fits")


def usdt_transfer(reference: str, amount: int = 2_500_000) -> TransferRequest:
    """An arb USDT transfer to WALLET."""
    return TransferRequest(
        chain_id="arb",
        token_address=USDT,
        amount=amount,
        decimals=6,
        wallet_address=WALLET,
        reference=reference,
    )


async def test_every_endpoint(sb: RunningSandbox) -> None:
    """create, get (after a payment), list and transfer against the sandbox."""
    sandbox = sb.sandbox
    sandbox.fund("arb", "USDT", "100")
    sandbox.fund("arb", "GPT", "1")
    async with client_for(sb) as client:
        intent = await client.create_intent(
            fiat_amount="300.0",
            fiat_currency=FiatCurrency.TWD,
            order_data={"order_id": "ord_1", "item_id": "100"},
            group_key="buy_stone_with_usdt",
        )
        assert intent.symbol == "USDT"
        assert intent.decimals == 6
        assert intent.crypto_amount == 9_230_770  # 300 / 32.5 USDT, rounded up to base units
        assert intent.status is PaymentStatus.PENDING
        assert intent.order_id == "ord_1"
        sandbox.pay(intent.payment_intent_id, "exact")
        paid = await client.get_intent(intent.payment_intent_id)
        assert paid.status is PaymentStatus.SUCCESS
        assert paid.received_amount == intent.crypto_amount
        assert paid.payment_tx_hash is not None
        assert [i async for i in client.list_intents()] == [paid]
        assert [i async for i in client.list_intents(status="success")] == [paid]
        assert [i async for i in client.list_intents(status="pending")] == []
        result = await client.transfer(usdt_transfer("wd_1"))
        big = await client.transfer(
            TransferRequest(
                chain_id="arb",
                token_address=GPT,
                amount=10**18 - 1,
                decimals=18,
                wallet_address=WALLET,
                reference="wd_2",
            )
        )
    assert result.transfer_id
    assert result.tx_hash
    assert big.transfer_id != result.transfer_id
    records = sandbox.transfers.records()
    assert [r.amount for r in records] == [2_500_000, 10**18 - 1]
    assert result.transfer_id == "1-1760000000-1"  # the documented form
    assert [r.transfer_id for r in records] == [result.transfer_id, big.transfer_id]
    assert sandbox.balance("arb", "USDT") == 97_500_000
    assert sandbox.balance("arb", "GPT") == 1


async def test_authentication_errors(sb: RunningSandbox) -> None:
    """Wrong API key: 4002; wrong client id: 4001; both HTTP 401, not retried."""
    async with client_for(sb, api_key=sb.api_key + "-wrong") as client:
        with pytest.raises(AuthenticationError) as key:
            await client.get_intent("pi_x")
    async with client_for(sb, client_id="not-" + sb.client_id) as client:
        with pytest.raises(AuthenticationError) as cid:
            await client.create_intent(fiat_amount="1", fiat_currency="USD")
    assert (key.value.status, key.value.api_code) == (401, 4002)
    assert (cid.value.status, cid.value.api_code) == (401, 4001)
    assert sb.api_key not in str(key.value) + repr(key.value) + repr(key.value.body)
    assert len(api_calls(sb.sandbox, "get")) == 1
    assert sb.sandbox.intents() == []


async def test_unknown_intent(sb: RunningSandbox) -> None:
    """An unknown id is NotFoundError 4006 / 404."""
    async with client_for(sb) as client:
        with pytest.raises(NotFoundError) as info:
            await client.get_intent("pi_000000000000000000000000")
    assert (info.value.status, info.value.api_code) == (404, 4006)


async def test_bad_requests_are_definite(sb: RunningSandbox) -> None:
    """4000 (bad address) is InvalidRequestError; 4015 (treasury short) is the typed
    TreasuryInsufficient with the exact shortfall; neither is an unknown outcome."""
    sandbox = sb.sandbox
    async with client_for(sb) as client:
        with pytest.raises(InvalidRequestError) as bad:
            await client.transfer(
                TransferRequest(
                    chain_id="arb",
                    token_address=USDT,
                    amount=1,
                    decimals=6,
                    wallet_address="0x1234",
                    reference="wd_bad",
                )
            )
        with pytest.raises(TreasuryInsufficient) as short:
            await client.transfer(usdt_transfer("wd_short"))
    assert (bad.value.status, bad.value.api_code) == (400, 4000)
    assert (short.value.status, short.value.api_code) == (400, 4015)
    assert (short.value.shortfall, short.value.shortfall_text) == (2_500_000, "2.5")
    assert len(sandbox.transfers) == 0


async def test_max_pages_bounds_the_listing_and_says_it_was_cut(sb: RunningSandbox) -> None:
    """max_pages stops the pages early and marks the listing truncated; a listing that reaches
    the end is not truncated."""
    async with client_for(sb) as client:
        for n in range(5):
            await client.create_intent(fiat_amount=f"{n + 1}", fiat_currency="USD")
        cut = client.list_intents(page_size=2, max_pages=2)
        assert len([i async for i in cut]) == 4
        assert (cut.pages, cut.truncated) == (2, True)
        whole = client.list_intents(page_size=2, max_pages=3)
        assert len([i async for i in whole]) == 5
        assert (whole.pages, whole.truncated) == (3, False)
        with pytest.raises(InvalidInput):  # refused before any call
            client.list_intents(max_pages=0)


async def test_pagination_keeps_filters(sb: RunningSandbox) -> None:
    """Pages follow each other with the same filters; exactly the matching intents come back."""
    sandbox = sb.sandbox
    created: list[PaymentIntent] = []
    async with client_for(sb) as client:
        for n in range(17):
            sandbox.advance(10)
            created.append(
                await client.create_intent(
                    fiat_amount=f"{n + 1}.5", fiat_currency="USD", group_key=("a", "b")[n % 3 > 0]
                )
            )
        for intent in created[::4]:
            sandbox.pay(intent.payment_intent_id, "exact")
        cutoff = created[5].model_extra["created_at"] if created[5].model_extra else None
        assert isinstance(cutoff, int)
        expected = [
            s.payment_intent_id
            for s in sandbox.intents()
            if s.group_key == "b"
            and s.status is PaymentStatus.PENDING
            and (s.model_extra or {})["created_at"] >= cutoff
        ]
        assert len(expected) >= 5
        sandbox.set_faults(None)  # restart the call log
        got = [
            i.payment_intent_id
            async for i in client.list_intents(
                status="pending", group_key="b", created_after=cutoff, page_size=2
            )
        ]
        everything = [i.payment_intent_id async for i in client.list_intents(page_size=5)]
    assert got == expected
    assert everything == [i.payment_intent_id for i in created]
    assert len(api_calls(sandbox, "list")) == (len(expected) + 1) // 2 + 4


async def test_get_retries_injected_api_errors(sb: RunningSandbox) -> None:
    """A GET that meets an injected 429 then 503 is retried and returns the intent."""
    sandbox = sb.sandbox
    async with client_for(sb) as client:
        intent = await client.create_intent(fiat_amount="10", fiat_currency="USD")
        sandbox.set_faults(
            seed_where(
                lambda s: Faults(seed=s, api_error_rate=0.5, api_error_statuses=(429, 503)),
                "get",
                lambda f: [x.error_status for x in f] == [429, 503, None],
                3,
            )
        )
        got = await client.get_intent(intent.payment_intent_id)
    assert got == intent
    assert [c["error_status"] for c in api_calls(sandbox, "get")] == [429, 503, None]


async def test_get_rides_out_seeded_5xx_faults() -> None:
    """GETs ride out seeded 503 faults (40% of answers) with retries; the faults replay by seed."""
    config = SandboxConfig(seed=2, frozen_clock=True)
    faults = Faults(seed=8, api_error_rate=0.4, api_error_statuses=(503,))
    async with running_sandbox(config) as served:
        intent_id = served.sandbox.create_intent(
            fiat_amount="1", fiat_currency="USD"
        ).payment_intent_id
        served.sandbox.set_faults(faults)
        async with client_for(served, retry=RetryPolicy(max_attempts=8)) as client:
            for _ in range(10):
                assert (await client.get_intent(intent_id)).payment_intent_id == intent_id
        errors = [e for e in served.sandbox.plan.log if e.get("error_status") == 503]
        assert errors, "the seed should have injected some errors"


async def test_get_gives_up_on_persistent_errors(sb: RunningSandbox) -> None:
    """Every GET failing: the last error (429 -> RateLimitError, 500 -> ServerError) after 3."""
    sandbox = sb.sandbox
    async with client_for(sb) as client:
        sandbox.set_faults(Faults(api_error_rate=1.0, api_error_statuses=(500,)))
        with pytest.raises(ServerError) as server:
            _ = [i async for i in client.list_intents()]
        sandbox.set_faults(Faults(api_error_rate=1.0, api_error_statuses=(429,)))
        with pytest.raises(RateLimitError) as limited:
            await client.get_intent("pi_x")
    assert (server.value.status, server.value.api_code) == (500, 5000)
    assert (limited.value.status, limited.value.api_code) == (429, 4290)
    assert len(api_calls(sandbox, "get")) == 3


async def test_get_retries_injected_latency(sb: RunningSandbox) -> None:
    """A GET slower than the client's timeout is retried; the next, fast answer is used."""
    sandbox = sb.sandbox
    async with client_for(sb, timeout=0.3) as client:
        intent = await client.create_intent(fiat_amount="10", fiat_currency="USD")
        sandbox.set_faults(
            seed_where(
                lambda s: Faults(seed=s, latency=(0.0, 2.0)),
                "get",
                lambda f: f[0].latency > 1.0 and f[1].latency < 0.05,
                2,
            )
        )
        got = await client.get_intent(intent.payment_intent_id)
    assert got == intent
    assert len(api_calls(sandbox, "get")) == 2


async def test_persistent_latency_is_a_timeout(sb: RunningSandbox) -> None:
    """Every answer too slow: gamepay's RequestTimeout after max_attempts tries."""
    sandbox = sb.sandbox
    sandbox.set_faults(Faults(latency=2.0))
    async with client_for(sb, timeout=0.2) as client:
        with pytest.raises(RequestTimeout):
            await client.get_intent("pi_x")
    assert len(api_calls(sandbox, "get")) == 3


@pytest.mark.parametrize("mode", ["hang", "504"])
async def test_create_committed_but_answer_lost(sb: RunningSandbox, mode: str) -> None:
    """The sandbox creates the intent and loses the answer: OutcomeUnknownError, one intent."""
    sandbox = sb.sandbox
    sandbox.set_faults(Faults(hang_seconds=5.0))
    sandbox.arm_timeout_after_commit("create", mode)  # type: ignore[arg-type]
    async with client_for(sb, timeout=0.3) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.create_intent(
                fiat_amount="300", fiat_currency="TWD", order_data={"order_id": "ord_lost"}
            )
        # The services resolve it by looking the order up; the intent is there, once.
        found = [i async for i in client.list_intents() if i.order_id == "ord_lost"]
    assert (info.value.operation, info.value.reference) == ("create_intent", "ord_lost")
    assert len(api_calls(sandbox, "create")) == 1
    assert [i.order_id for i in sandbox.intents()] == ["ord_lost"]
    assert len(found) == 1


@pytest.mark.parametrize("mode", ["hang", "504"])
async def test_transfer_committed_but_answer_lost(sb: RunningSandbox, mode: str) -> None:
    """The sandbox executes the transfer and loses the answer: unknown outcome, sent once."""
    sandbox = sb.sandbox
    sandbox.fund("arb", "USDT", "10")
    sandbox.set_faults(Faults(hang_seconds=5.0))
    sandbox.arm_timeout_after_commit("transfer", mode)  # type: ignore[arg-type]
    async with client_for(sb, timeout=0.3) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.transfer(usdt_transfer("wd_lost"))
    assert (info.value.operation, info.value.reference) == ("transfer", "wd_lost")
    assert len(api_calls(sandbox, "transfer")) == 1
    assert len(sandbox.transfers) == 1
    assert sandbox.balance("arb", "USDT") == 7_500_000


async def test_unsafe_calls_meeting_injected_5xx_are_unknown_and_not_resent(
    sb: RunningSandbox,
) -> None:
    """An injected 500/503 on create or transfer is not retried: OutcomeUnknownError, one call."""
    sandbox = sb.sandbox
    sandbox.fund("arb", "USDT", "10")
    sandbox.set_faults(Faults(api_error_rate=1.0, api_error_statuses=(500, 503)))
    async with client_for(sb) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.create_intent(fiat_amount="1", fiat_currency="USD")
        with pytest.raises(OutcomeUnknownError):
            await client.transfer(usdt_transfer("wd_5xx"))
    assert len(api_calls(sandbox, "create")) == 1
    assert len(api_calls(sandbox, "transfer")) == 1
    assert sandbox.intents() == []  # the sandbox injects these before doing anything
    assert len(sandbox.transfers) == 0


async def test_in_process_asgi_transport() -> None:
    """The same client runs in-process against the sandbox app through httpx.ASGITransport."""
    sandbox = Sandbox(SandboxConfig(seed=3, frozen_clock=True))
    sandbox.fund("arb", "USDT", "5")
    app = create_app(sandbox, manage_lifecycle=False)
    config = sandbox.config
    async with KryptoGOClient(
        client_id=config.client_id,
        api_key=config.api_key.get_secret_value(),
        origin="http://localhost",
        base_url="http://sandbox.test",
        transport=httpx.ASGITransport(app=app),
    ) as client:
        intent = await client.create_intent(fiat_amount="65", fiat_currency="TWD")
        assert intent.crypto_amount == 2_000_000
        assert await client.get_intent(intent.payment_intent_id) == intent
        assert [i async for i in client.list_intents()] == [intent]
        result = await client.transfer(usdt_transfer("wd_asgi", 1_000_000))
        with pytest.raises(NotFoundError):
            await client.get_intent("pi_nope")
    assert len(sandbox.transfers) == 1
    assert result.transfer_id == sandbox.transfers.records()[0].transfer_id
    await sandbox.aclose()
