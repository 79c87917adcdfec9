"""Metrics: a private registry, event counting, callback timing, httpx hooks, exposition."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gamepay.core.events import Event, EventType
from gamepay.metrics import Metrics, MetricsPublisher


class _Sink:
    """A publisher that records what it was given."""

    def __init__(self) -> None:
        self.seen: list[Event] = []

    async def publish(self, events: object) -> None:
        """Record the events."""
        self.seen.extend(events)  # type: ignore[call-overload]


def test_registries_are_isolated() -> None:
    """Two Metrics objects never share counts (nothing goes to the global registry)."""
    a, b = Metrics(), Metrics()
    a.observe_transfers(["deposit", "purchase", "grant"])
    assert a.value("gamepay_ledger_transfers_total", {"kind": "grant"}) == 1
    assert b.value("gamepay_ledger_transfers_total", {"kind": "grant"}) == 0


async def test_publisher_counts_and_forwards() -> None:
    """MetricsPublisher counts status changes and withdrawals, then forwards the same batch."""
    metrics, sink = Metrics(), _Sink()
    publisher = MetricsPublisher(metrics, sink)
    events = [
        Event(1, "p1", EventType.ORDER_STATUS_CHANGED, {"status": "success"}),
        Event(2, "p1", EventType.ASSET_GRANTED, {"asset": "item:sword"}),
        Event(3, "p2", EventType.ORDER_STATUS_CHANGED, {"status": "expired"}),
        Event(4, "p2", EventType.WITHDRAWAL_STATUS_CHANGED, {"status": "sent"}),
        Event(5, "p2", EventType.ORDER_STATUS_CHANGED, {"status": "success"}),
    ]
    await publisher.publish(events)
    assert sink.seen == events
    assert metrics.value("gamepay_intent_status_total", {"status": "success"}) == 2
    assert metrics.value("gamepay_intent_status_total", {"status": "expired"}) == 1
    assert metrics.value("gamepay_withdrawals_total", {"outcome": "sent"}) == 1
    assert metrics.value("gamepay_events_total", {"type": "asset_granted"}) == 1


async def test_timed_callback_records_outcome_and_latency() -> None:
    """Each wrapped call lands in the histogram under its HTTP status class, errors included."""
    metrics = Metrics()

    async def handler(body: bytes) -> tuple[int, bytes]:
        await asyncio.sleep(0.005)
        return (200 if body else 400), b"{}"

    async def broken(body: bytes) -> int:
        raise RuntimeError("down")

    timed = metrics.timed_callback(handler)
    assert await timed(b"x") == (200, b"{}")
    await timed(b"")
    with pytest.raises(RuntimeError, match="down"):
        await metrics.timed_callback(broken)(b"x")
    assert metrics.value("gamepay_callback_seconds_count", {"outcome": "2xx"}) == 1
    assert metrics.value("gamepay_callback_seconds_count", {"outcome": "4xx"}) == 1
    assert metrics.value("gamepay_callback_seconds_count", {"outcome": "error"}) == 1
    assert metrics.value("gamepay_callback_seconds_sum", {"outcome": "2xx"}) >= 0.005


async def test_httpx_hooks_count_requests_by_endpoint_template() -> None:
    """The client's requests are counted by method, templated endpoint and status."""
    metrics = Metrics()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404 if request.url.path.endswith("missing") else 200, json={})

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer),
        base_url="http://kryptogo.test",
        event_hooks=metrics.httpx_event_hooks(),
    ) as client:
        await client.get("/v1/studio/api/payment/intent/pi_1")
        await client.get("/v1/studio/api/payment/intent/pi_2")
        await client.get("/v1/studio/api/payment/intent/missing")
    endpoint = "/v1/studio/api/payment/intent/{id}"
    labels = {"method": "GET", "endpoint": endpoint}
    assert metrics.value("gamepay_kryptogo_requests_total", {**labels, "status": "200"}) == 2
    assert metrics.value("gamepay_kryptogo_requests_total", {**labels, "status": "404"}) == 1
    assert metrics.value("gamepay_kryptogo_request_seconds_count", labels) == 3


def test_render_exposes_every_family() -> None:
    """The text exposition names every metric family the docs promise."""
    metrics = Metrics()
    metrics.ws_opened()
    metrics.ws_opened()
    metrics.ws_closed()
    metrics.observe_reward_payouts("cashback", 3)
    metrics.observe_withdrawal("unknown")
    text = metrics.render().decode()
    for family in (
        "gamepay_intent_status_total",
        "gamepay_callback_seconds",
        "gamepay_ledger_transfers_total",
        "gamepay_withdrawals_total",
        "gamepay_ws_connections ",
        "gamepay_reward_payouts_total",
        "gamepay_kryptogo_requests_total",
    ):
        assert family in text, family
    assert metrics.value("gamepay_ws_connections") == 1
    assert metrics.value("gamepay_ws_connections_accepted_total") == 2
    assert metrics.value("gamepay_reward_payouts_total", {"program": "cashback"}) == 3
