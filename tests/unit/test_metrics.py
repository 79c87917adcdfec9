"""Metrics: a private registry, event counting, callback timing, httpx hooks, exposition."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gamepay.core.events import Event, EventType
from gamepay.errors import TransportError
from gamepay.kryptogo.client import KryptoGOClient
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
    a.observe_withdrawal("sent")
    assert a.value("gamepay_withdrawals_total", {"outcome": "sent"}) == 1
    assert b.value("gamepay_withdrawals_total", {"outcome": "sent"}) == 0


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


async def test_treasury_refusals_are_counted_per_chain() -> None:
    """A withdrawal failed with treasury_insufficient (4015) counts toward the refill alarm;
    other failures do not."""
    metrics = Metrics()
    kind = EventType.WITHDRAWAL_STATUS_CHANGED

    def event(n: int, status: str, error: str | None, chain: str = "arb") -> Event:
        return Event(n, "p", kind, {"status": status, "error": error, "chain_id": chain})

    await MetricsPublisher(metrics).publish(
        [
            event(1, "failed", "treasury_insufficient"),
            event(2, "failed", "api_invalid_request"),
            event(3, "failed", "treasury_insufficient"),
            event(4, "sent", None, "tron"),
        ]
    )
    assert metrics.value("gamepay_treasury_insufficient_total", {"chain_id": "arb"}) == 2
    assert metrics.value("gamepay_treasury_insufficient_total", {"chain_id": "tron"}) == 0
    assert b"gamepay_treasury_insufficient_total" in metrics.render()


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


async def test_client_hook_counts_every_attempt() -> None:
    """Wired into a real KryptoGOClient, the hook counts each attempt of a failing call."""
    metrics = Metrics()

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    client = KryptoGOClient(
        client_id="c",
        api_key="k",
        origin="http://localhost",
        base_url="http://127.0.0.1:1",  # nothing listens on port 1: connection refused
        sleep=no_sleep,
        **metrics.client_hooks(),
    )
    async with client:
        with pytest.raises(TransportError):
            await client.get_intent("pi_1")
    attempts = metrics.value("gamepay_kryptogo_call_seconds_count", {"operation": "get_intent"})
    assert attempts >= 1
    text = metrics.render().decode()
    assert 'gamepay_kryptogo_calls_total{operation="get_intent",status=' in text


def test_render_exposes_every_family() -> None:
    """The text exposition names every metric family the docs promise."""
    metrics = Metrics()
    metrics.ws_opened()
    metrics.ws_opened()
    metrics.ws_closed()
    metrics.observe_withdrawal("unknown")
    text = metrics.render().decode()
    for family in (
        "gamepay_intent_status_total",
        "gamepay_callback_seconds",
        "gamepay_withdrawals_total",
        "gamepay_ws_connections ",
        "gamepay_kryptogo_calls_total",
    ):
        assert family in text, family
    assert metrics.value("gamepay_ws_connections") == 1
    assert metrics.value("gamepay_ws_connections_accepted_total") == 2


async def test_httpx_hooks_label_by_endpoint_template() -> None:
    """Raw HTTP responses are counted by method, templated endpoint (no ids) and status."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def intent(request: object) -> JSONResponse:
        found = getattr(request, "path_params", {}).get("pid") != "missing"
        return JSONResponse({}, status_code=200 if found else 404)

    app = Starlette(routes=[Route("/v1/studio/api/payment/intent/{pid}", intent)])
    metrics = Metrics()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://studio.test",
        event_hooks=metrics.httpx_event_hooks(),
    ) as client:
        for pid in ("pi_1", "pi_2", "missing"):
            await client.get(f"/v1/studio/api/payment/intent/{pid}")
    labels = {"method": "GET", "endpoint": "/v1/studio/api/payment/intent/{id}"}
    assert metrics.value("gamepay_kryptogo_requests_total", {**labels, "status": "200"}) == 2
    assert metrics.value("gamepay_kryptogo_requests_total", {**labels, "status": "404"}) == 1


async def test_ledger_transfers_are_read_from_the_database(db_url: str) -> None:
    """Transfers by kind come from the store itself (true across replicas and restarts)."""
    from gamepay import Currency
    from gamepay.core.accounts import AccountKind, issuer_account, player_account
    from gamepay.core.transfers import TransferKind, TransferSpec
    from gamepay.ledger import Ledger
    from gamepay.store import Store

    store = await Store.connect(db_url)
    try:
        await store.migrate()
        metrics = Metrics()
        await metrics.refresh_from_store(store)
        assert metrics.value("gamepay_ledger_transfers_total", {"kind": "grant"}) == 0
        ledger = Ledger(store)
        gold = Currency("gold")
        await ledger.register_asset(gold)
        issuer = issuer_account(gold.id)
        await ledger.open_account(issuer, kind=AccountKind.SYSTEM, allow_negative=True)
        await ledger.open_account(player_account("bob"))
        for i in range(3):
            spec = TransferSpec(issuer, player_account("bob"), gold.id, 5, TransferKind.GRANT)
            await ledger.transfer(f"g-{i}", spec)
        await ledger.transfer(
            "r-1", TransferSpec(issuer, player_account("bob"), gold.id, 1, TransferKind.REWARD)
        )
        await metrics.refresh_from_store(store)
        assert metrics.value("gamepay_ledger_transfers_total", {"kind": "grant"}) == 3
        assert metrics.value("gamepay_ledger_transfers_total", {"kind": "reward"}) == 1
        assert b'gamepay_ledger_transfers_total{kind="grant"} 3.0' in metrics.render()
    finally:
        await store.close()
