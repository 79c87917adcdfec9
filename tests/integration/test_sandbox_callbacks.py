"""Callbacks from the sandbox to a real HTTP receiver: delivery, retries, signing, seeded faults."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gamepay.kryptogo.models import PaymentIntent
from gamepay.kryptogo.signing import signature_matches
from gamepay.sandbox import Faults, Sandbox, SandboxConfig
from gamepay.testing import CallbackRecorder, callback_body, callback_recorder, running_sandbox

CREATE = "/v1/studio/api/payment/intent"
START = 1_750_000_000


def fast_config(**overrides: Any) -> SandboxConfig:
    """A frozen-clock config whose callback retries take milliseconds."""
    settings: dict[str, Any] = {
        "seed": 4,
        "start_time": START,
        "frozen_clock": True,
        "callback_retry_base": 0.001,
        "callback_retry_cap": 0.005,
        "callback_max_attempts": 4,
        "callback_reorder_hold": 0.05,
    }
    settings.update(overrides)
    return SandboxConfig(**settings)


def make_intent(sandbox: Sandbox, url: str | None, fiat: str = "32.5") -> str:
    """Create an intent through the Python API and return its id."""
    created = sandbox.create_intent(fiat_amount=fiat, fiat_currency="TWD", callback_url=url)
    return created.payment_intent_id


async def test_callback_delivered_over_http(recorder_url: tuple[CallbackRecorder, str]) -> None:
    """A status change POSTs the intent's wire form to callback_url, created over HTTP."""
    recorder, _ = recorder_url
    async with (
        running_sandbox(fast_config()) as served,
        httpx.AsyncClient(base_url=served.url, headers=served.headers()) as client,
    ):
        body = {
            "fiat_amount": "65",
            "fiat_currency": "TWD",
            "callback_url": recorder.url,
            "order_data": {"order_id": "o-1"},
        }
        created = (await client.post(CREATE, json=body)).json()["data"]
        served.sandbox.pay(created["payment_intent_id"], "exact")
        await served.sandbox.flush_callbacks()
        fetched = (await client.get(f"{CREATE}/{created['payment_intent_id']}")).json()["data"]
    [received] = recorder.accepted()
    assert received == fetched
    assert received["status"] == "success"
    assert received["order_data"] == {"order_id": "o-1"}
    assert recorder.received[0].headers["content-type"] == "application/json"
    log = served.sandbox.callback_log
    assert [entry.outcome for entry in log] == ["delivered"]


@pytest.fixture
async def recorder_url() -> Any:
    """A running callback recorder and its URL."""
    async with callback_recorder() as recorder:
        yield recorder, recorder.url


async def test_every_status_change_in_order() -> None:
    """Short payment then refund: two callbacks, in the order the statuses changed."""
    async with callback_recorder() as recorder, running_sandbox(fast_config()) as served:
        intent_id = make_intent(served.sandbox, recorder.url)
        served.sandbox.pay(intent_id, "short")
        served.sandbox.refund(intent_id)
        await served.sandbox.flush_callbacks()
    statuses = [body["status"] for body in recorder.accepted()]
    assert statuses == ["insufficient_not_refunded", "insufficient_refunded"]
    assert recorder.accepted()[1]["refund_amount"] == "0.5"


async def test_expiry_and_late_payment_callbacks() -> None:
    """Expiry sends a callback; a late payment sends another with the status unchanged."""
    async with callback_recorder() as recorder, running_sandbox(fast_config()) as served:
        intent_id = make_intent(served.sandbox, recorder.url)
        served.sandbox.advance(901)
        served.sandbox.pay(intent_id, "exact")
        await served.sandbox.flush_callbacks()
    bodies = recorder.accepted()
    assert [b["status"] for b in bodies] == ["expired", "expired"]
    assert bodies[0]["received_amount"] is None
    assert bodies[1]["received_amount"] == "1"


async def test_late_payment_callback_can_be_turned_off() -> None:
    """notify_late_payments=False: only the status change is sent."""
    config = fast_config(notify_late_payments=False)
    async with callback_recorder() as recorder, running_sandbox(config) as served:
        intent_id = make_intent(served.sandbox, recorder.url)
        served.sandbox.pay(intent_id, "exact", late=True)
        await served.sandbox.flush_callbacks()
    assert [b["status"] for b in recorder.accepted()] == ["expired"]


async def test_non_2xx_is_retried_until_accepted() -> None:
    """Two 500s then a 200: three attempts, one accepted body."""
    async with callback_recorder() as recorder, running_sandbox(fast_config()) as served:
        recorder.fail_next(2, 500)
        intent_id = make_intent(served.sandbox, recorder.url)
        served.sandbox.pay(intent_id, "exact")
        await served.sandbox.flush_callbacks()
    assert [r.answered for r in recorder.received] == [500, 500, 200]
    outcomes = [(e.attempt, e.outcome) for e in served.sandbox.callback_log]
    assert outcomes == [(1, "http_error"), (2, "http_error"), (3, "delivered")]


async def test_gives_up_after_max_attempts_on_connection_errors() -> None:
    """A receiver that is down gets max_attempts tries, then the delivery is given up."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}/cb"
    async with running_sandbox(fast_config()) as served:
        intent_id = make_intent(served.sandbox, dead_url)
        served.sandbox.pay(intent_id, "exact")
        await served.sandbox.flush_callbacks()
        outcomes = [e.outcome for e in served.sandbox.callback_log]
    assert outcomes == ["connection_error"] * 4 + ["gave_up"]


async def test_flush_times_out_while_deliveries_remain() -> None:
    """flush raises TimeoutError when a delivery is still being retried."""
    config = fast_config(callback_retry_base=0.5, callback_retry_cap=0.5, callback_max_attempts=9)
    async with callback_recorder() as recorder, running_sandbox(config) as served:
        recorder.fail_next(100, 503)
        served.sandbox.pay(make_intent(served.sandbox, recorder.url), "exact")
        with pytest.raises(TimeoutError):
            await served.sandbox.flush_callbacks(within=0.2)
        assert served.sandbox.callbacks.pending == 1


async def test_signed_callbacks_verify() -> None:
    """With a secret, each body carries timestamp and a signature that verifies."""
    config = fast_config(callback_secret=SecretStr("s3cret"))
    async with callback_recorder() as recorder, running_sandbox(config) as served:
        recorder.fail_next(1, 502)
        served.sandbox.pay(make_intent(served.sandbox, recorder.url), "exact")
        served.sandbox.advance(7)
        await served.sandbox.flush_callbacks()
    [body] = recorder.accepted()
    assert body["timestamp"] == START + 7
    assert signature_matches(body, "s3cret")
    assert not signature_matches(body, "other")
    tampered = {**body, "received_amount": "1000"}
    assert not signature_matches(tampered, "s3cret")


async def test_callback_body_helper_matches_the_sandbox() -> None:
    """testing.callback_body builds what the sandbox sends, signed or not."""
    config = fast_config(callback_secret=SecretStr("k"))
    async with callback_recorder() as recorder, running_sandbox(config) as served:
        intent_id = make_intent(served.sandbox, recorder.url)
        paid = served.sandbox.pay(intent_id, "exact")
        await served.sandbox.flush_callbacks()
    [sent] = recorder.accepted()
    assert callback_body(paid, "k", timestamp=START) == sent
    unsigned = callback_body(paid)
    assert "signature" not in unsigned
    assert PaymentIntent.model_validate(unsigned) == paid


async def test_reorder_lets_a_later_callback_overtake() -> None:
    """reorder=1.0: of two callbacks queued together, the second arrives first."""
    async with (
        callback_recorder() as recorder,
        running_sandbox(fast_config(), Faults(reorder=1.0)) as served,
    ):
        first = make_intent(served.sandbox, recorder.url)
        second = make_intent(served.sandbox, recorder.url)
        served.sandbox.pay(first, "exact")
        served.sandbox.pay(second, "exact")
        await served.sandbox.flush_callbacks()
    assert [b["payment_intent_id"] for b in recorder.accepted()] == [second, first]


async def test_held_callback_is_released_after_the_hold() -> None:
    """A callback held for reordering with nothing after it still arrives (after the hold)."""
    async with (
        callback_recorder() as recorder,
        running_sandbox(fast_config(), Faults(reorder=1.0)) as served,
    ):
        served.sandbox.pay(make_intent(served.sandbox, recorder.url), "exact")
        await recorder.wait_for(1, within=2.0)


async def test_delay_holds_callbacks() -> None:
    """delay=(lo, hi) delivers no sooner than lo seconds."""
    faults = Faults(delay=(0.15, 0.2))
    async with callback_recorder() as recorder, running_sandbox(fast_config(), faults) as served:
        began = time.perf_counter()
        served.sandbox.pay(make_intent(served.sandbox, recorder.url), "exact")
        await recorder.wait_for(1)
        assert time.perf_counter() - began >= 0.15


async def fault_run(seed: int) -> tuple[list[tuple[str, str, bool]], list[Any], list[str]]:
    """Ten paid intents under drop/duplicate/reorder faults; what the receiver and log saw."""
    faults = Faults(seed=seed, drop_rate=0.25, duplicate_rate=0.25, reorder=0.25)
    async with callback_recorder() as recorder, running_sandbox(fast_config(), faults) as served:
        ids = [make_intent(served.sandbox, recorder.url) for _ in range(10)]
        for intent_id in ids:
            served.sandbox.pay(intent_id, "exact")
        await served.sandbox.flush_callbacks()
        log = [
            (e.intent_id, e.outcome, e.duplicate_of is not None)
            for e in served.sandbox.callback_log
        ]
        decisions = [entry for entry in served.sandbox.plan.log if entry["kind"] == "callback"]
    return log, decisions, [b["payment_intent_id"] for b in recorder.accepted()]


async def test_faulty_callbacks_replay_with_the_same_seed() -> None:
    """Drops, duplicates and reorders happen, and the same seed replays them exactly."""
    log, decisions, arrived = await fault_run(seed=2024)
    outcomes = [outcome for _, outcome, _ in log]
    assert "dropped" in outcomes
    assert any(duplicate for _, _, duplicate in log)
    assert any(d["reorder"] for d in decisions)
    dropped = {intent_id for intent_id, outcome, _ in log if outcome == "dropped"}
    assert dropped.isdisjoint(arrived)
    assert len(arrived) == outcomes.count("delivered")
    again = await fault_run(seed=2024)
    assert again == (log, decisions, arrived)
    other = await fault_run(seed=7)
    assert other[1] != decisions


async def test_unusable_callback_url_does_not_stop_the_worker() -> None:
    """A callback_url httpx cannot use is given up; other callbacks still go out."""
    async with callback_recorder() as recorder, running_sandbox(fast_config()) as served:
        served.sandbox.pay(make_intent(served.sandbox, "http://bad-port:99999/cb"), "exact")
        served.sandbox.pay(make_intent(served.sandbox, recorder.url), "exact")
        await served.sandbox.flush_callbacks()
        outcomes = [e.outcome for e in served.sandbox.callback_log]
    assert outcomes.count("gave_up") == 1
    assert outcomes.count("delivered") == 1
    assert len(recorder.accepted()) == 1


async def test_concurrent_workers_deliver_everything_once() -> None:
    """callback_concurrency=4 delivers each of 20 callbacks exactly once."""
    config = fast_config(callback_concurrency=4)
    async with callback_recorder() as recorder, running_sandbox(config) as served:
        ids = [make_intent(served.sandbox, recorder.url) for _ in range(20)]
        for intent_id in ids:
            served.sandbox.pay(intent_id, "exact")
        await served.sandbox.flush_callbacks()
        assert len(served.sandbox.callbacks._tasks) == 4
    arrived = [body["payment_intent_id"] for body in recorder.accepted()]
    assert sorted(arrived) == sorted(ids)
