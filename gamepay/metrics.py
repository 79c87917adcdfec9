"""Prometheus metrics of a gamepay process, in their own registry (never the global one).

One ``Metrics`` object per process (tests make one each, so they never share counters). The
other layers are not edited to count things: the metrics hook in from outside, through the
instrumentation points those layers expose (an event publisher wrapper, httpx event hooks on the
KryptoGO client, a timing wrapper around the callback handler, and plain ``observe_*`` calls the
server and the demo make). ``render()`` is what ``/metrics`` serves.

| metric | type | labels |
|---|---|---|
| ``gamepay_intent_status_total`` | counter | ``status`` (order/intent status changes applied) |
| ``gamepay_callback_seconds`` | histogram | ``outcome`` (HTTP status class of the answer) |
| ``gamepay_ledger_transfers_total`` | counter | ``kind`` |
| ``gamepay_withdrawals_total`` | counter | ``outcome`` |
| ``gamepay_ws_connections`` | gauge | (open websocket connections) |
| ``gamepay_ws_connections_accepted_total`` | counter | (connections accepted) |
| ``gamepay_reward_payouts_total`` | counter | ``program`` |
| ``gamepay_kryptogo_requests_total`` | counter | ``method``, ``endpoint``, ``status`` |
| ``gamepay_kryptogo_request_seconds`` | histogram | ``method``, ``endpoint`` |
| ``gamepay_events_total`` | counter | ``type`` (events published to players) |
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from gamepay.core.events import Event, EventPublisher, EventType

__all__ = [
    "CONTENT_TYPE",
    "Metrics",
    "MetricsPublisher",
]

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
"""The Content-Type of ``Metrics.render()``."""

_LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Endpoints are labelled by template, never by raw path (ids would explode the label set).
_INTENT_ID_PATH = re.compile(r"(/payment/intent/)[^/?]+")


def _endpoint(path: str) -> str:
    return _INTENT_ID_PATH.sub(r"\1{id}", path)


class Metrics:
    """Every gamepay metric, registered in a private ``CollectorRegistry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.intent_status = Counter(
            "gamepay_intent_status",
            "Order/intent status changes applied, by new status.",
            ["status"],
            registry=r,
        )
        self.callback_seconds = Histogram(
            "gamepay_callback_seconds",
            "Time to handle one KryptoGO callback, by outcome (2xx, 4xx, 5xx, error).",
            ["outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ledger_transfers = Counter(
            "gamepay_ledger_transfers",
            "Ledger transfers committed, by kind.",
            ["kind"],
            registry=r,
        )
        self.withdrawals = Counter(
            "gamepay_withdrawals",
            "Withdrawals by outcome (requested, sent, failed, unknown, refused, ...).",
            ["outcome"],
            registry=r,
        )
        self.ws_connections = Gauge(
            "gamepay_ws_connections", "Open websocket connections.", registry=r
        )
        self.ws_connections_total = Counter(
            "gamepay_ws_connections_accepted", "Websocket connections accepted.", registry=r
        )
        self.reward_payouts = Counter(
            "gamepay_reward_payouts",
            "Reward payouts made, by program.",
            ["program"],
            registry=r,
        )
        self.kryptogo_requests = Counter(
            "gamepay_kryptogo_requests",
            "HTTP requests to KryptoGO Studio, by method, endpoint and status.",
            ["method", "endpoint", "status"],
            registry=r,
        )
        self.kryptogo_seconds = Histogram(
            "gamepay_kryptogo_request_seconds",
            "Latency of HTTP requests to KryptoGO Studio.",
            ["method", "endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.events = Counter(
            "gamepay_events",
            "Events published to players, by type.",
            ["type"],
            registry=r,
        )

    # -- exposition -----------------------------------------------------------------------
    def render(self) -> bytes:
        """The registry in the Prometheus text format (what ``/metrics`` serves)."""
        return generate_latest(self.registry)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """The current value of one sample (``0.0`` when absent); for tests and the demo."""
        got = self.registry.get_sample_value(name, labels or {})
        return 0.0 if got is None else got

    # -- observation points ----------------------------------------------------------------
    def observe_event(self, event: Event) -> None:
        """Count one published event and what it says (status changes, grants, withdrawals)."""
        self.events.labels(type=str(event.type)).inc()
        status = event.payload.get("status")
        if event.type is EventType.ORDER_STATUS_CHANGED and isinstance(status, str):
            self.intent_status.labels(status=status).inc()
        elif event.type is EventType.WITHDRAWAL_STATUS_CHANGED and isinstance(status, str):
            self.withdrawals.labels(outcome=status).inc()

    def observe_transfers(self, kinds: Sequence[str]) -> None:
        """Count committed ledger transfers, one kind per transfer."""
        for kind in kinds:
            self.ledger_transfers.labels(kind=kind).inc()

    def observe_withdrawal(self, outcome: str) -> None:
        """Count one withdrawal outcome."""
        self.withdrawals.labels(outcome=outcome).inc()

    def observe_reward_payouts(self, program: str, count: int = 1) -> None:
        """Count ``count`` reward payouts of ``program``."""
        if count > 0:
            self.reward_payouts.labels(program=program).inc(count)

    def ws_opened(self) -> None:
        """A websocket connection was accepted."""
        self.ws_connections.inc()
        self.ws_connections_total.inc()

    def ws_closed(self) -> None:
        """A websocket connection closed."""
        self.ws_connections.dec()

    def observe_callback(self, seconds: float, status: int | None) -> None:
        """Record one callback's handling time and the HTTP status it was answered with."""
        outcome = "error" if status is None else f"{status // 100}xx"
        self.callback_seconds.labels(outcome=outcome).observe(seconds)

    def timed_callback(
        self, handler: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        """Wrap an async callback handler so each call is timed; the status is read off its
        result (an int, a ``(status, body)`` tuple or an object with ``.status``)."""

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            status: int | None = None
            try:
                result = await handler(*args, **kwargs)
                status = _status_of(result)
                return result
            finally:
                self.observe_callback(time.perf_counter() - started, status)

        return timed

    # -- httpx hooks (the KryptoGO client) ---------------------------------------------------
    def httpx_event_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """``event_hooks`` for an ``httpx.AsyncClient``: count and time every request."""

        async def on_request(request: httpx.Request) -> None:
            request.extensions["gamepay_started"] = time.perf_counter()

        async def on_response(response: httpx.Response) -> None:
            request = response.request
            endpoint = _endpoint(request.url.path)
            self.kryptogo_requests.labels(
                method=request.method, endpoint=endpoint, status=str(response.status_code)
            ).inc()
            started = request.extensions.get("gamepay_started")
            if isinstance(started, float):
                self.kryptogo_seconds.labels(method=request.method, endpoint=endpoint).observe(
                    time.perf_counter() - started
                )

        return {"request": [on_request], "response": [on_response]}


def _status_of(result: Any) -> int | None:
    if isinstance(result, int):
        return result
    if isinstance(result, tuple) and result and isinstance(result[0], int):
        return result[0]
    status = getattr(result, "status", getattr(result, "status_code", None))
    return status if isinstance(status, int) else None


class MetricsPublisher:
    """An ``EventPublisher`` that counts each event, then hands the batch to ``inner``."""

    def __init__(self, metrics: Metrics, inner: EventPublisher | None = None) -> None:
        self.metrics = metrics
        self.inner = inner

    async def publish(self, events: Sequence[Event]) -> None:
        """Count ``events`` and forward them (never raises for the counting part)."""
        for event in events:
            self.metrics.observe_event(event)
        if self.inner is not None:
            await self.inner.publish(events)
