"""Contract test: gamepay's own KryptoGOClient against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gamepay.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    OutcomeUnknownError,
)
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.kryptogo.retry import RetryPolicy
from gamepay.kryptogo.transfers import TransferRequest
from gamepay.sandbox import Faults, SandboxConfig
from gamepay.testing import RunningSandbox, running_sandbox

START = 1_750_000_000
USDT = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"


async def no_sleep(seconds: float) -> None:
    """Retries without waiting."""


def client_for(served: RunningSandbox, **overrides: Any) -> KryptoGOClient:
    """A KryptoGOClient pointed at the sandbox with its credentials."""
    settings: dict[str, Any] = {
        "client_id": served.client_id,
        "api_key": served.api_key,
        "origin": served.origin,
        "base_url": served.url,
        "timeout": 2.0,
        "sleep": no_sleep,
        "jitter": lambda: 0.0,
    }
    settings.update(overrides)
    return KryptoGOClient(**settings)


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox on a frozen clock with a funded USDT treasury."""
    config = SandboxConfig(seed=21, start_time=START, frozen_clock=True)
    async with running_sandbox(config) as running:
        running.sandbox.fund("arb", "USDT", "100")
        yield running


def transfer(note: str, units: int = 2_500_000) -> TransferRequest:
    """A transfer of ``units`` USDT base units on arb."""
    return TransferRequest(
        chain_id="arb",
        token_address=USDT,
        amount=units,
        decimals=6,
        wallet_address=WALLET,
        note=note,
    )


async def test_create_get_list_transfer(served: RunningSandbox) -> None:
    """Every endpoint round-trips through the client with exact amounts."""
    async with client_for(served) as client:
        made = []
        for n in range(7):
            intent = await client.create_intent(
                fiat_amount="300.0",
                fiat_currency="TWD",
                order_data={"order_id": f"o{n}"},
                group_key="even" if n % 2 == 0 else "odd",
            )
            made.append(intent.payment_intent_id)
        assert intent.crypto_amount == 9_230_770
        served.sandbox.pay(made[0], "exact")
        fetched = await client.get_intent(made[0])
        assert fetched.status == "success"
        assert fetched.received_amount == 9_230_770
        listed = [i.payment_intent_id async for i in client.list_intents(page_size=3)]
        assert listed == made
        even = [i.payment_intent_id async for i in client.list_intents(group_key="even")]
        assert even == made[0::2]
        paid = [i.payment_intent_id async for i in client.list_intents(status="success")]
        assert paid == [made[0]]
        result = await client.transfer(transfer("wd-1"))
        assert result.transfer_id == served.sandbox.transfers.records()[0].transfer_id
    assert served.sandbox.balance("arb", "USDT") == 97_500_000


async def test_errors_map_to_typed_exceptions(served: RunningSandbox) -> None:
    """4001/4002 are AuthenticationError, 4006 NotFoundError, 4100 an APIError with its code."""
    async with client_for(served, client_id="wrong") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get_intent("pi_x")
        assert caught.value.api_code == 4001
    async with client_for(served, api_key="wrong") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get_intent("pi_x")
        assert caught.value.api_code == 4002
    async with client_for(served) as client:
        with pytest.raises(NotFoundError) as missing:
            await client.get_intent("pi_unknown")
        assert missing.value.api_code == 4006
        with pytest.raises(APIError) as short:
            await client.transfer(transfer("too-much", units=10**9))
        assert short.value.api_code == 4100
        assert short.value.status == 400
    assert len(served.sandbox.transfers) == 0


async def test_transfer_that_hangs_after_commit_is_outcome_unknown(
    served: RunningSandbox,
) -> None:
    """The sandbox executes the transfer; the client times out and says outcome unknown."""
    served.sandbox.set_faults(Faults(hang_seconds=10))
    served.sandbox.arm_timeout_after_commit("transfer")
    async with client_for(served, timeout=0.3) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.transfer(transfer("wd-hang"))
    assert caught.value.reference == "wd-hang"
    assert served.sandbox.transfer_counts_by_note() == {"wd-hang": 1}


async def test_create_answered_504_after_commit_is_outcome_unknown(
    served: RunningSandbox,
) -> None:
    """A 504 after the create committed: the client does not resend; the intent exists."""
    served.sandbox.arm_timeout_after_commit("create", "504")
    async with client_for(served) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.create_intent(
                fiat_amount="1", fiat_currency="USD", order_data={"order_id": "o-504"}
            )
    assert caught.value.reference == "o-504"
    [intent] = served.sandbox.intents()
    assert intent.order_id == "o-504"


async def test_safe_calls_retry_through_injected_errors() -> None:
    """GETs ride out seeded 5xx faults with retries; the faults replay by seed."""
    config = SandboxConfig(seed=2, frozen_clock=True)
    faults = Faults(seed=8, api_error_rate=0.4, api_error_statuses=(503,))
    async with running_sandbox(config) as served:
        intent_id = served.sandbox.create_intent(
            fiat_amount="1", fiat_currency="USD"
        ).payment_intent_id
        served.sandbox.set_faults(faults)
        policy = RetryPolicy(max_attempts=8)
        async with client_for(served, retry=policy) as client:
            for _ in range(10):
                assert (await client.get_intent(intent_id)).payment_intent_id == intent_id
        errors = [e for e in served.sandbox.plan.log if e.get("error_status") == 503]
        assert errors, "the seed should have injected some errors"
