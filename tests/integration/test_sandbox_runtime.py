"""The sandbox at run time: real-clock expiry, restarts over the same state, in-process use."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamepay.sandbox import Sandbox, SandboxConfig, create_app
from gamepay.testing import callback_recorder, running_sandbox, sandbox_in_thread

CREATE = "/v1/studio/api/payment/intent"
HEADERS = {"X-Client-ID": "sandbox-client-id", "X-STUDIO-API-KEY": "sandbox-api-key", "Origin": "o"}


async def test_real_clock_expires_without_any_request() -> None:
    """On a real-time clock the ticker expires intents and sends their callbacks by itself."""
    config = SandboxConfig(seed=1, deadline_seconds=1, expiry_interval=0.05)
    async with callback_recorder() as recorder, running_sandbox(config) as served:
        intent = served.sandbox.create_intent(
            fiat_amount="1", fiat_currency="USD", callback_url=recorder.url
        )
        [body] = await recorder.wait_for(1, within=5.0)
    assert body["payment_intent_id"] == intent.payment_intent_id
    assert body["status"] == "expired"


async def test_restart_keeps_state_and_queued_callbacks() -> None:
    """Serving the same Sandbox again keeps its intents; callbacks queued while down go out."""
    sandbox = Sandbox(SandboxConfig(seed=1, frozen_clock=True))
    async with running_sandbox(sandbox=sandbox) as first:
        intent_id = sandbox.create_intent(fiat_amount="1", fiat_currency="USD").payment_intent_id
        assert first.url.startswith("http://127.0.0.1:")
    async with callback_recorder() as recorder:
        queued = sandbox.create_intent(
            fiat_amount="1", fiat_currency="USD", callback_url=recorder.url
        )
        sandbox.pay(queued.payment_intent_id, "exact")  # no loop-side worker yet: it queues
        async with (
            running_sandbox(sandbox=sandbox) as second,
            httpx.AsyncClient(base_url=second.url, headers=second.headers()) as client,
        ):
            response = await client.get(f"{CREATE}/{intent_id}")
            assert response.json()["data"]["payment_intent_id"] == intent_id
            await sandbox.flush_callbacks()
    assert [b["status"] for b in recorder.accepted()] == ["success"]


async def test_in_process_with_asgi_transport() -> None:
    """The same app runs in-process behind httpx.ASGITransport; `async with` stops its worker."""
    async with callback_recorder() as recorder, Sandbox(SandboxConfig(seed=1)) as sandbox:
        transport = httpx.ASGITransport(app=create_app(sandbox, manage_lifecycle=False))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox", headers=HEADERS
        ) as client:
            body = {"fiat_amount": "3", "fiat_currency": "USD", "callback_url": recorder.url}
            created = (await client.post(CREATE, json=body)).json()["data"]
            sandbox.pay(created["payment_intent_id"], "excess")
            await sandbox.flush_callbacks()
    assert recorder.accepted()[0]["received_amount"] == "3.3"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    body=st.dictionaries(
        st.sampled_from(
            ["fiat_amount", "fiat_currency", "callback_url", "order_data", "group_key", "x"]
        ),
        json_values | st.sampled_from(["1", "USD", "TWD", "https://a.b/c", "0.5"]),
    ),
    transfer=st.dictionaries(
        st.sampled_from(["chain_id", "contract_address", "amount", "wallet_address", "note"]),
        json_values | st.sampled_from(["arb", "USDT", "1", "0x" + "a" * 40]),
    ),
)
def test_hostile_bodies_get_the_api_error_shape(
    body: dict[str, object], transfer: dict[str, object]
) -> None:
    """Any JSON body gets 200 or the 4000 envelope (never a 500), and refusals change nothing."""

    async def run() -> None:
        sandbox = Sandbox(SandboxConfig(seed=1, frozen_clock=True))
        sandbox.fund("arb", "USDT", "1000")
        transport = httpx.ASGITransport(app=create_app(sandbox, manage_lifecycle=False))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox", headers=HEADERS
        ) as client:
            statuses = []
            for path, payload in ((CREATE, body), ("/v1/studio/api/asset_pro/transfer", transfer)):
                response = await client.post(path, content=json.dumps(payload))
                statuses.append(response.status_code)
                answer = response.json()
                if response.status_code == 200:
                    assert answer["code"] == 0
                else:
                    assert response.status_code in (400, 404)
                    assert answer["code"] in (4000, 4015)
                    if answer["code"] == 4015:  # the documented shortfall, nothing else
                        assert set(answer["data"]) == {"insufficient_amount"}
                    else:
                        assert answer["data"] is None
                    assert answer["message"]
        assert len(sandbox.intents()) == (1 if statuses[0] == 200 else 0)
        assert len(sandbox.transfers) == (1 if statuses[1] == 200 else 0)
        if statuses[1] != 200:
            assert sandbox.balance("arb", "USDT") == 1_000_000_000
        await sandbox.aclose()

    asyncio.run(run())


def test_sandbox_in_thread_serves_sync_code() -> None:
    """sandbox_in_thread serves for synchronous clients; control calls run on its loop."""
    with sandbox_in_thread(SandboxConfig(seed=1, frozen_clock=True)) as threaded:
        body = {"fiat_amount": "1", "fiat_currency": "USD"}
        created = httpx.post(threaded.url + CREATE, json=body, headers=threaded.headers()).json()
        intent_id = created["data"]["payment_intent_id"]
        paid = threaded.call(threaded.sandbox.pay, intent_id, "exact")
        assert paid.status == "success"
        threaded.flush_callbacks()
        fetched = httpx.get(f"{threaded.url}{CREATE}/{intent_id}", headers=threaded.headers())
        assert fetched.json()["data"]["status"] == "success"
        url = threaded.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + CREATE + "/x")
