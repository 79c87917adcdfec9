"""The sandbox's control API over real HTTP: the intent lifecycle, treasury, transfers, faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gamepay.kryptogo.models import PaymentIntent
from gamepay.sandbox import Faults, Sandbox, SandboxConfig, create_app
from gamepay.testing import RunningSandbox, running_sandbox

CREATE = "/v1/studio/api/payment/intent"
TRANSFER = "/v1/studio/api/asset_pro/transfer"
START = 1_750_000_000
ARB_USDT = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"
TRON_WALLET = "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW"
SOL_WALLET = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox on a frozen clock, served on a free port."""
    config = SandboxConfig(seed=11, start_time=START, frozen_clock=True)
    async with running_sandbox(config) as running:
        yield running


@pytest.fixture
async def http(served: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client carrying the sandbox's credentials."""
    async with httpx.AsyncClient(base_url=served.url, headers=served.headers()) as client:
        yield client


async def ok(response: Any) -> Any:
    """Await a response and return its envelope's data, asserting success."""
    answered = await response
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["code"] == 0
    return body["data"]


async def new_intent(http: httpx.AsyncClient, fiat: str = "32.5") -> dict[str, Any]:
    """Create an intent; 32.5 TWD is exactly 1 USDT (1_000_000 base units)."""
    return await ok(http.post(CREATE, json={"fiat_amount": fiat, "fiat_currency": "TWD"}))


async def control(http: httpx.AsyncClient, path: str, body: Any = None) -> Any:
    """POST to the control API and return the data."""
    return await ok(http.post(f"/_sandbox{path}", json=body))


async def test_pay_exact_succeeds_with_aggregation(http: httpx.AsyncClient) -> None:
    """An exact payment makes the intent success with aggregated amount and hash set."""
    intent = await new_intent(http)
    assert intent["crypto_amount"] == "1"
    paid = await control(http, f"/intents/{intent['payment_intent_id']}/pay", {"mode": "exact"})
    assert paid["status"] == "success"
    assert paid["received_amount"] == "1"
    assert paid["aggregated_amount"] == "1"
    assert paid["payment_tx_hash"].startswith("0x")
    assert len(paid["payment_tx_hash"]) == 66
    assert paid["aggregation_tx_hash"].startswith("0x")
    assert paid["payment_tx_timestamp"] == START
    fetched = await ok(http.get(f"{CREATE}/{intent['payment_intent_id']}"))
    assert fetched == paid


async def test_pay_excess_is_recorded(http: httpx.AsyncClient) -> None:
    """An overpayment succeeds and keeps the whole received amount."""
    intent = await new_intent(http)
    paid = await control(http, f"/intents/{intent['payment_intent_id']}/pay", {"mode": "excess"})
    assert paid["status"] == "success"
    assert paid["received_amount"] == "1.1"
    assert paid["aggregated_amount"] == "1.1"


async def test_short_then_refund(http: httpx.AsyncClient) -> None:
    """A short final payment is insufficient; a refund returns all of it by default."""
    intent_id = (await new_intent(http))["payment_intent_id"]
    short = await control(http, f"/intents/{intent_id}/pay", {"mode": "short"})
    assert short["status"] == "insufficient_not_refunded"
    assert short["received_amount"] == "0.5"
    assert short["aggregated_amount"] is None
    refunded = await control(http, f"/intents/{intent_id}/refund")
    assert refunded["status"] == "insufficient_refunded"
    assert refunded["refund_amount"] == "0.5"
    assert refunded["refund_tx_hash"].startswith("0x")


async def test_combined_payments_reach_success(http: httpx.AsyncClient) -> None:
    """Non-final partial payments add up; the intent succeeds when the total is reached."""
    intent_id = (await new_intent(http))["payment_intent_id"]
    part = await control(http, f"/intents/{intent_id}/pay", {"amount": "0.4", "final": False})
    assert part["status"] == "pending"
    assert part["received_amount"] == "0.4"
    done = await control(http, f"/intents/{intent_id}/pay", {"mode": "exact"})
    assert done["status"] == "success"
    assert done["received_amount"] == "1"
    assert done["aggregated_amount"] == "1"
    detail = await ok(http.get(f"/_sandbox/intents/{intent_id}"))
    assert [p["amount"] for p in detail["_payments"]] == ["400000", "600000"]
    assert detail["_history"] == ["pending", "success"]


async def test_deadline_expires_on_advance(http: httpx.AsyncClient) -> None:
    """At the deadline an intent is still pending; one second past it, expired."""
    intent_id = (await new_intent(http))["payment_intent_id"]
    moved = await control(http, "/clock/advance", {"seconds": 900})
    assert moved == {"now": START + 900, "closed": []}
    moved = await control(http, "/clock/advance", {"seconds": 1})
    assert moved["closed"] == [intent_id]
    fetched = await ok(http.get(f"{CREATE}/{intent_id}"))
    assert fetched["status"] == "expired"
    assert fetched["received_amount"] is None


async def test_partial_payment_then_deadline_is_insufficient(http: httpx.AsyncClient) -> None:
    """A non-final partial payment left at the deadline becomes insufficient_not_refunded."""
    intent_id = (await new_intent(http))["payment_intent_id"]
    await control(http, f"/intents/{intent_id}/pay", {"amount": "0.25", "final": False})
    await control(http, "/clock/advance", {"seconds": 901})
    fetched = await ok(http.get(f"{CREATE}/{intent_id}"))
    assert fetched["status"] == "insufficient_not_refunded"
    assert fetched["received_amount"] == "0.25"


async def test_late_payment_keeps_expired_and_records(http: httpx.AsyncClient) -> None:
    """A late payment leaves the intent expired but records the amount and the tx hash."""
    intent_id = (await new_intent(http))["payment_intent_id"]
    late = await control(http, f"/intents/{intent_id}/pay", {"mode": "exact", "late": True})
    assert late["status"] == "expired"
    assert late["received_amount"] == "1"
    assert late["payment_tx_hash"] is not None
    assert late["aggregated_amount"] is None
    detail = await ok(http.get(f"/_sandbox/intents/{intent_id}"))
    assert detail["_payments"][0]["late"] is True
    assert detail["_history"] == ["pending", "expired"]


async def test_force_expire_and_no_op(http: httpx.AsyncClient) -> None:
    """expire closes a pending intent; on a closed one it changes nothing."""
    intent_id = (await new_intent(http))["payment_intent_id"]
    assert (await control(http, f"/intents/{intent_id}/expire"))["status"] == "expired"
    assert (await control(http, f"/intents/{intent_id}/expire"))["status"] == "expired"


async def test_control_errors(http: httpx.AsyncClient) -> None:
    """Unknown intents are 4006; a refund of a pending intent is 4090; bad bodies 4000."""
    response = await http.post("/_sandbox/intents/pi_nope/pay", json={})
    assert (response.status_code, response.json()["code"]) == (404, 4006)
    intent_id = (await new_intent(http))["payment_intent_id"]
    response = await http.post(f"/_sandbox/intents/{intent_id}/refund")
    assert (response.status_code, response.json()["code"]) == (409, 4090)
    for body in ({"mode": "lots"}, {"amount": 1.5}, {"amount": "1.0000001"}, {"late": "yes"}):
        response = await http.post(f"/_sandbox/intents/{intent_id}/pay", json=body)
        assert (response.status_code, response.json()["code"]) == (400, 4000), body
    response = await http.post("/_sandbox/clock/advance", json={"seconds": -5})
    assert response.json()["code"] == 4000
    fetched = await ok(http.get(f"{CREATE}/{intent_id}"))
    assert fetched["status"] == "pending"
    assert fetched["received_amount"] is None


async def test_control_api_refuses_remote_callers() -> None:
    """A caller that is not on loopback gets 4030 from the control API."""
    app = create_app(Sandbox(SandboxConfig(seed=1)), manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        response = await client.get("/_sandbox/intents")
    assert (response.status_code, response.json()["code"]) == (403, 4030)


def transfer_body(**overrides: Any) -> dict[str, Any]:
    """A valid transfer of 2.5 USDT on arb."""
    body = {
        "chain_id": "arb",
        "contract_address": ARB_USDT,
        "amount": "2.5",
        "wallet_address": WALLET,
    }
    body.update(overrides)
    return body


async def test_transfer_debits_treasury_and_is_recorded(
    served: RunningSandbox, http: httpx.AsyncClient
) -> None:
    """A funded transfer answers the documented id, tx_hash, transfer_time and lands in the
    record (and in its export rows)."""
    await control(http, "/treasury/fund", {"chain_id": "arb", "token": "USDT", "amount": "10"})
    data = await ok(http.post(TRANSFER, json=transfer_body()))
    assert set(data) == {"id", "tx_hash", "transfer_time"}
    assert (data["id"], data["transfer_time"]) == (f"1-{START}-1", START)
    assert served.sandbox.balance("arb", "USDT") == 7_500_000
    record = await ok(http.get("/_sandbox/transfers"))
    assert record["count"] == 1
    assert record["export"][0]["id"] == data["id"]
    assert record["export"][0]["transfer_time"] == str(START)
    only = record["transfers"][0]
    assert only["transfer_id"] == data["id"]
    assert only["amount"] == "2.5"
    assert only["wallet_address"] == WALLET


async def test_transfer_insufficient_treasury_is_the_documented_4015(
    served: RunningSandbox, http: httpx.AsyncClient
) -> None:
    """A transfer above the treasury balance is 4015 "Balance not enough" with the shortfall
    in data.insufficient_amount, and moves nothing."""
    served.sandbox.fund("arb", "USDT", 2_000_000)
    response = await http.post(TRANSFER, json=transfer_body())
    assert response.status_code == 400
    assert response.json() == {
        "code": 4015,
        "message": "Balance not enough",
        "data": {"insufficient_amount": "0.5"},
    }
    assert served.sandbox.balance("arb", "USDT") == 2_000_000
    assert len(served.sandbox.transfers) == 0


async def test_transfers_are_never_deduplicated(
    served: RunningSandbox, http: httpx.AsyncClient
) -> None:
    """The same request twice is executed twice, and the record shows the double send."""
    served.sandbox.fund("arb", "USDT", "100")
    first = await ok(http.post(TRANSFER, json=transfer_body()))
    second = await ok(http.post(TRANSFER, json=transfer_body()))
    assert first["id"] != second["id"]
    assert len(served.sandbox.transfers) == 2


async def test_unknown_fields_ignored_by_default_refused_when_strict() -> None:
    """An undocumented ``note`` is ignored (not recorded) by default; the strict sandbox
    refuses it, and any unknown create field, with 4000 naming it."""
    for strict in (False, True):
        config = SandboxConfig(seed=11, start_time=START, frozen_clock=True, strict=strict)
        async with (
            running_sandbox(config) as running,
            httpx.AsyncClient(base_url=running.url, headers=running.headers()) as client,
        ):
            running.sandbox.fund("arb", "USDT", "10")
            answer = await client.post(TRANSFER, json=transfer_body(note="wd-1"))
            create = await client.post(
                CREATE, json={"fiat_amount": "1", "fiat_currency": "USD", "memo": "x"}
            )
            if strict:
                for response, field in ((answer, "note"), (create, "memo")):
                    assert (response.status_code, response.json()["code"]) == (400, 4000)
                    assert field in response.json()["message"]
                assert len(running.sandbox.transfers) == 0
                assert running.sandbox.intents() == []
            else:
                assert answer.json()["code"] == create.json()["code"] == 0
                assert "note" not in running.sandbox.transfers.records()[0].to_json()


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"chain_id": "btc"}, "chain_id"),
        ({"chain_id": 5}, "chain_id"),
        ({"contract_address": "0x" + "1" * 40}, "unknown token"),
        ({"contract_address": "USDT"}, "contract_address"),
        ({"contract_address": "0xfd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"}, "checksum"),
        ({"amount": 2.5}, "amount"),
        ({"amount": "2.1234567"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"wallet_address": "0x123"}, "wallet_address"),
        ({"wallet_address": WALLET.lower()[:-1] + "G"}, "wallet_address"),
        ({"wallet_address": "0x52908400098527886e0F7030069857D2E4169EE7"}, "checksum"),
        ({"wallet_address": TRON_WALLET}, "wallet_address"),
        ({"wallet_address": None}, "wallet_address"),
    ],
)
async def test_transfer_validation(
    served: RunningSandbox, http: httpx.AsyncClient, overrides: dict[str, Any], fragment: str
) -> None:
    """Bad chains, tokens, amounts and addresses are 4000; nothing is debited."""
    served.sandbox.fund("arb", "USDT", "100")
    response = await http.post(TRANSFER, json=transfer_body(**overrides))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 4000
    assert fragment in body["message"]
    assert served.sandbox.balance("arb", "USDT") == 100_000_000
    assert len(served.sandbox.transfers) == 0


async def test_transfers_on_tron_and_solana(
    served: RunningSandbox, http: httpx.AsyncClient
) -> None:
    """Tron and Solana transfers validate their own address formats."""
    sandbox = served.sandbox
    tron_usdt = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    sol_usdt = "Es9vMFrzaCERmJFrF4H2FYD4KCoNkY11McCe8BenwNYB"
    sandbox.fund("tron", "USDT", "5")
    sandbox.fund("sol", "USDT", "5")
    tron = transfer_body(chain_id="tron", contract_address=tron_usdt, wallet_address=TRON_WALLET)
    sol = transfer_body(chain_id="sol", contract_address=sol_usdt, wallet_address=SOL_WALLET)
    assert (await ok(http.post(TRANSFER, json=tron)))["tx_hash"]
    assert (await ok(http.post(TRANSFER, json=sol)))["tx_hash"]
    by_symbol = transfer_body(chain_id="tron", contract_address="USDT", wallet_address=TRON_WALLET)
    assert (await http.post(TRANSFER, json=by_symbol)).json()["code"] == 4000
    wrong = transfer_body(chain_id="sol", contract_address=sol_usdt, wallet_address=TRON_WALLET)
    assert (await http.post(TRANSFER, json=wrong)).json()["code"] == 4000


async def test_timeout_after_commit_hang(served: RunningSandbox, http: httpx.AsyncClient) -> None:
    """An armed transfer executes, then the answer hangs past the client's timeout."""
    served.sandbox.fund("arb", "USDT", "100")
    served.sandbox.set_faults(Faults(hang_seconds=5))
    served.sandbox.arm_timeout_after_commit("transfer")
    with pytest.raises(httpx.ReadTimeout):
        await http.post(TRANSFER, json=transfer_body(), timeout=0.3)
    assert len(served.sandbox.transfers) == 1
    assert served.sandbox.balance("arb", "USDT") == 97_500_000
    # One-shot: the next transfer answers normally.
    await ok(http.post(TRANSFER, json=transfer_body()))


async def test_timeout_after_commit_504(served: RunningSandbox, http: httpx.AsyncClient) -> None:
    """An armed create commits, then answers a 504 gateway page without an envelope."""
    served.sandbox.arm_timeout_after_commit("create", "504")
    response = await http.post(CREATE, json={"fiat_amount": "1", "fiat_currency": "USD"})
    assert response.status_code == 504
    assert response.headers["content-type"].startswith("text/html")
    assert len(served.sandbox.intents()) == 1


async def test_armed_fault_survives_a_refused_request(
    served: RunningSandbox, http: httpx.AsyncClient
) -> None:
    """A refused create does not consume the armed fault: the next good create gets it."""
    served.sandbox.arm_timeout_after_commit("create", "504")
    bad = await http.post(CREATE, json={"fiat_amount": 1, "fiat_currency": "USD"})
    assert bad.status_code == 400
    good = await http.post(CREATE, json={"fiat_amount": "1", "fiat_currency": "USD"})
    assert good.status_code == 504


async def test_timeout_rate_is_seeded_and_replays() -> None:
    """timeout_after_commit_rate picks the same requests for the same seed."""

    async def outcomes(seed: int) -> list[int]:
        faults = Faults(seed=seed, timeout_after_commit_rate=0.5, timeout_mode="504")
        async with (
            running_sandbox(SandboxConfig(seed=1, frozen_clock=True), faults) as served,
            httpx.AsyncClient(base_url=served.url, headers=served.headers()) as client,
        ):
            codes = []
            for _ in range(12):
                body = {"fiat_amount": "1", "fiat_currency": "USD"}
                codes.append((await client.post(CREATE, json=body)).status_code)
            assert len(served.sandbox.intents()) == 12  # every create committed
            return codes

    first = await outcomes(5)
    assert set(first) == {200, 504}
    assert await outcomes(5) == first


async def test_api_errors_change_nothing() -> None:
    """Injected API errors answer 5000/4290 in the envelope and create nothing."""
    faults = Faults(seed=3, api_error_rate=1.0, api_error_statuses=(429, 503))
    async with (
        running_sandbox(SandboxConfig(seed=1), faults) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.headers()) as client,
    ):
        seen = set()
        for _ in range(10):
            response = await client.post(CREATE, json={"fiat_amount": "1", "fiat_currency": "USD"})
            seen.add((response.status_code, response.json()["code"]))
        assert seen == {(429, 4290), (503, 5000)}
        assert served.sandbox.intents() == []


async def test_latency_fault_delays_answers() -> None:
    """latency holds each answer for at least that long."""
    async with (
        running_sandbox(SandboxConfig(seed=1), Faults(latency=0.2)) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.headers()) as client,
    ):
        began = time.perf_counter()
        await client.get("/v1/studio/api/payment/intents")
        assert time.perf_counter() - began >= 0.2


async def test_faults_over_http(http: httpx.AsyncClient) -> None:
    """Faults can be read, replaced and armed through the control API."""
    data = await ok(http.put("/_sandbox/faults", json={"seed": 9, "drop_rate": 0.5}))
    assert data["faults"]["drop_rate"] == 0.5
    data = await control(http, "/faults/arm", {"operation": "transfer", "mode": "504"})
    assert data["armed"]["transfer"] == ["504"]
    response = await http.put("/_sandbox/faults", json={"drop_rate": 2})
    assert response.json()["code"] == 4000


async def test_shutdown_releases_a_hanging_request() -> None:
    """Leaving running_sandbox while a request hangs in a fault returns promptly."""
    config = SandboxConfig(seed=1)
    began = time.perf_counter()
    async with running_sandbox(config, Faults(hang_seconds=60)) as served:
        served.sandbox.arm_timeout_after_commit("create")
        client = httpx.AsyncClient(base_url=served.url, headers=served.headers())
        body = {"fiat_amount": "1", "fiat_currency": "USD"}
        pending = asyncio.create_task(client.post(CREATE, json=body))
        for _ in range(500):  # the create commits, then its answer hangs
            if served.sandbox.intents():
                break
            await asyncio.sleep(0.01)
    response = await pending
    await client.aclose()
    assert response.status_code == 200
    assert time.perf_counter() - began < 10


async def test_intents_parse_as_models(served: RunningSandbox, http: httpx.AsyncClient) -> None:
    """Every state's wire form parses back into the client's PaymentIntent."""
    ids = [(await new_intent(http))["payment_intent_id"] for _ in range(4)]
    sandbox = served.sandbox
    sandbox.pay(ids[0], "excess")
    sandbox.pay(ids[1], "short")
    sandbox.refund(ids[1])
    sandbox.pay(ids[2], "exact", late=True)
    for intent_id in ids:
        data = await ok(http.get(f"{CREATE}/{intent_id}"))
        model = PaymentIntent.model_validate(data)
        assert model.to_wire() == data


async def test_concurrent_transfers_never_overdraw(
    served: RunningSandbox, http: httpx.AsyncClient
) -> None:
    """40 concurrent 1-USDT transfers against 25 USDT: exactly 25 execute, 15 get 4015."""
    served.sandbox.fund("arb", "USDT", "25")
    responses = await asyncio.gather(
        *(http.post(TRANSFER, json=transfer_body(amount="1")) for i in range(40))
    )
    codes = sorted(response.json()["code"] for response in responses)
    assert codes == [0] * 25 + [4015] * 15
    assert served.sandbox.balance("arb", "USDT") == 0
    ids = {record.transfer_id for record in served.sandbox.transfers.records()}
    assert len(ids) == 25


async def test_concurrent_creates_get_distinct_ids(
    served: RunningSandbox, http: httpx.AsyncClient
) -> None:
    """Concurrent creates each get their own intent, address and listing slot."""
    body = {"fiat_amount": "1", "fiat_currency": "USD"}
    answers = await asyncio.gather(*(http.post(CREATE, json=body) for _ in range(30)))
    ids = {answer.json()["data"]["payment_intent_id"] for answer in answers}
    addresses = {answer.json()["data"]["payment_address"] for answer in answers}
    assert len(ids) == len(addresses) == 30
    listing = (await http.get("/v1/studio/api/payment/intents", params={"page_size": 100})).json()
    assert listing["data"]["total_count"] == 30
