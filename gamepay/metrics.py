"""Prometheus metrics of a gamepay process, in their own registry (never the global one).

One ``Metrics`` object per process (tests make one each, so they never share counters). The
other layers are not edited to count things: the metrics hook in from outside, through the
instrumentation points those layers expose (an event publisher wrapper, the KryptoGO client's
``on_response`` hook, a timing wrapper around the callback handler, and plain ``observe_*``
calls the server and the demo make). ``render()`` is what ``/metrics`` serves.

| metric | type | labels |
|---|---|---|
| ``gamepay_intent_status_total`` | counter | ``status`` (order/intent status changes applied) |
| ``gamepay_callback_seconds`` | histogram | ``outcome`` (HTTP status class of the answer) |
| ``gamepay_ledger_transfers_total`` | counter | ``kind`` (read from the database) |
| ``gamepay_orders`` | gauge | ``kind``, ``status`` (intents by status, from the database) |
| ``gamepay_withdrawal_states`` | gauge | ``status`` (from the database) |
| ``gamepay_withdrawals_total`` | counter | ``outcome`` |
| ``gamepay_treasury_insufficient_total`` | counter | ``chain_id`` (4015 refusals: refill it) |
| ``gamepay_ws_connections`` | gauge | (open websocket connections) |
| ``gamepay_ws_connections_accepted_total`` | counter | (connections accepted) |
| ``gamepay_reward_payouts_total`` | counter | ``program`` (paid payouts, from the database) |
| ``gamepay_kryptogo_calls_total`` | counter | ``operation``, ``status`` (or error class) |
| ``gamepay_kryptogo_call_seconds`` | histogram | ``operation`` |
| ``gamepay_kryptogo_requests_total`` | counter | ``method``, ``endpoint``, ``status`` (httpx) |
| ``gamepay_kryptogo_request_seconds`` | histogram | ``method``, ``endpoint`` (httpx) |
| ``gamepay_events_total`` | counter | ``type`` (events published to players) |
| ``gamepay_scheduler_runs_total`` | counter | ``job`` (ticks of ``serve``'s scheduler) |
| ``gamepay_scheduler_failures_total`` | counter | ``job`` (ticks that failed, in part or whole) |
| ``gamepay_scheduler_last_run_timestamp_seconds`` | gauge | ``job`` (when the last tick ended) |
| ``gamepay_scheduler_next_run_timestamp_seconds`` | gauge | ``job`` (when the next tick is due) |
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from gamepay.core.events import Event, EventPublisher, EventType
from gamepay.errors import GamepayError
from gamepay.kryptogo.client import ResponseEvent
from gamepay.observability import log_context

if TYPE_CHECKING:
    from gamepay.store import Store

__all__ = [
    "CONTENT_TYPE",
    "CallbackTarget",
    "InstrumentedCallbacks",
    "Metrics",
    "MetricsPublisher",
    "StoreStats",
    "metrics_endpoint",
]

logger = logging.getLogger("gamepay.metrics")

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
"""The Content-Type of ``Metrics.render()``."""

_INTENT_ID_PATH: Final = re.compile(r"(/payment/intent/)[^/?]+")
"""Endpoints are labelled by template, never by raw path (ids would explode the label set)."""
_LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


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
        self.store_stats = StoreStats()
        r.register(self.store_stats)
        self.withdrawals = Counter(
            "gamepay_withdrawals",
            "Withdrawals by outcome (requested, sent, failed, unknown, refused, ...).",
            ["outcome"],
            registry=r,
        )
        self.treasury_insufficient = Counter(
            "gamepay_treasury_insufficient",
            "Withdrawals and on-chain rewards KryptoGO refused with 4015 (Balance not enough): "
            "refill the organization's treasury.",
            ["chain_id"],
            registry=r,
        )
        self.ws_connections = Gauge(
            "gamepay_ws_connections", "Open websocket connections.", registry=r
        )
        self.ws_connections_total = Counter(
            "gamepay_ws_connections_accepted", "Websocket connections accepted.", registry=r
        )
        self.kryptogo_calls = Counter(
            "gamepay_kryptogo_calls",
            "Attempts of KryptoGO Studio calls, by operation and HTTP status (or error).",
            ["operation", "status"],
            registry=r,
        )
        self.kryptogo_call_seconds = Histogram(
            "gamepay_kryptogo_call_seconds",
            "Latency of attempts of KryptoGO Studio calls.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.kryptogo_requests = Counter(
            "gamepay_kryptogo_requests",
            "HTTP responses from KryptoGO Studio, by method, endpoint template and status.",
            ["method", "endpoint", "status"],
            registry=r,
        )
        self.kryptogo_request_seconds = Histogram(
            "gamepay_kryptogo_request_seconds",
            "Latency of HTTP requests to KryptoGO Studio, by method and endpoint template.",
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
        self.scheduler_runs = Counter(
            "gamepay_scheduler_runs", "Ticks of the scheduler, by job.", ["job"], registry=r
        )
        self.scheduler_failures = Counter(
            "gamepay_scheduler_failures",
            "Scheduler ticks that failed (in part or whole), by job.",
            ["job"],
            registry=r,
        )
        self.scheduler_last_run = Gauge(
            "gamepay_scheduler_last_run_timestamp_seconds",
            "When the job's last tick ended (Unix time).",
            ["job"],
            registry=r,
        )
        self.scheduler_next_run = Gauge(
            "gamepay_scheduler_next_run_timestamp_seconds",
            "When the job's next tick is due (Unix time).",
            ["job"],
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
            if status == "failed" and event.payload.get("error") == "treasury_insufficient":
                chain = event.payload.get("chain_id")
                self.treasury_insufficient.labels(chain_id=str(chain)[:16]).inc()

    async def refresh_from_store(self, store: Store) -> None:
        """Re-read the figures the database holds (transfers by kind, orders by status...).

        Counted in the database rather than in this process, so every replica reports the
        same, true totals and nothing is lost across restarts. ``/metrics`` calls this before
        rendering.
        """
        await self.store_stats.refresh(store)

    def observe_tick(self, job: str, *, ended: float, failed: bool, next_at: float) -> None:
        """Record one scheduler tick of ``job`` (Unix times) and when the next one is due."""
        self.scheduler_runs.labels(job=job).inc()
        failures = self.scheduler_failures.labels(job=job)
        if failed:
            failures.inc()
        self.scheduler_last_run.labels(job=job).set(ended)
        self.scheduler_next_run.labels(job=job).set(next_at)

    def schedule_next(self, job: str, next_at: float) -> None:
        """Record when ``job``'s next tick is due (Unix time), before its first tick; its
        counters show 0 from then on."""
        self.scheduler_runs.labels(job=job)
        self.scheduler_failures.labels(job=job)
        self.scheduler_next_run.labels(job=job).set(next_at)

    def observe_withdrawal(self, outcome: str) -> None:
        """Count one withdrawal outcome."""
        self.withdrawals.labels(outcome=outcome).inc()

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

    # -- KryptoGO client hooks -----------------------------------------------------------------
    def on_client_response(self, event: ResponseEvent) -> None:
        """``KryptoGOClient(on_response=...)``: count and time one attempt of one call."""
        status = str(event.status) if event.status is not None else (event.error or "error")
        self.kryptogo_calls.labels(operation=event.operation, status=status).inc()
        self.kryptogo_call_seconds.labels(operation=event.operation).observe(
            max(event.elapsed, 0.0)
        )

    def client_hooks(self) -> dict[str, Callable[[ResponseEvent], None]]:
        """Hooks to pass as ``KryptoGOClient(**metrics.client_hooks())``."""
        return {"on_response": self.on_client_response}

    def httpx_event_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """``event_hooks`` for an ``httpx.AsyncClient`` (or ``KryptoGOClient(event_hooks=...)``):
        count raw HTTP responses by method, endpoint template and status."""

        async def on_request(request: httpx.Request) -> None:
            request.extensions["gamepay_started"] = time.perf_counter()

        async def on_response(response: httpx.Response) -> None:
            request = response.request
            endpoint = _INTENT_ID_PATH.sub(r"\1{id}", request.url.path)
            self.kryptogo_requests.labels(
                method=request.method, endpoint=endpoint, status=str(response.status_code)
            ).inc()
            started = request.extensions.get("gamepay_started")
            if isinstance(started, float):
                self.kryptogo_request_seconds.labels(
                    method=request.method, endpoint=endpoint
                ).observe(time.perf_counter() - started)

        return {"request": [on_request], "response": [on_response]}


def _status_of(result: Any) -> int | None:
    if isinstance(result, int):
        return result
    if isinstance(result, tuple) and result and isinstance(result[0], int):
        return result[0]
    status = getattr(result, "status", getattr(result, "status_code", None))
    return status if isinstance(status, int) else None


class StoreStats(Collector):
    """Figures the database holds, read on refresh (true across replicas and restarts).

    Ledger transfers by kind, orders by kind and status (intents by status), withdrawals by
    status, reward payouts paid by program. ``collect()`` (called by the registry,
    synchronously) serves the last snapshot; ``refresh`` (async) takes a new one. A table that
    does not exist (a schema without that area) is skipped.
    """

    def __init__(self) -> None:
        self._snapshot: dict[str, dict[tuple[str, ...], float]] = {}

    async def refresh(self, store: Store) -> None:
        """Take a new snapshot from ``store``."""
        from sqlalchemy.exc import DBAPIError

        from gamepay.ledger.reads import transfers_by_kind
        from gamepay.payments.repository import orders_by_kind_and_status
        from gamepay.rewards.repository import paid_payouts_by_program
        from gamepay.withdrawals.repository import withdrawals_by_status

        queries: dict[str, Any] = {
            "transfers": transfers_by_kind(),
            "orders": orders_by_kind_and_status(),
            "withdrawals": withdrawals_by_status(),
            "rewards": paid_payouts_by_program(),
        }
        snapshot: dict[str, dict[tuple[str, ...], float]] = {}
        for name, query in queries.items():
            try:
                async with store.transaction() as conn:
                    rows = await conn.execute(query)
                    snapshot[name] = {
                        tuple(str(v) for v in row[:-1]): float(row[-1]) for row in rows
                    }
            except DBAPIError:
                logger.debug("metrics: %s not readable (table missing?)", name, exc_info=True)
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        """The last snapshot as metric families."""
        families: list[tuple[str, Metric]] = [
            (
                "transfers",
                CounterMetricFamily(
                    "gamepay_ledger_transfers",
                    "Ledger transfers committed, by kind (from the database).",
                    labels=["kind"],
                ),
            ),
            (
                "orders",
                GaugeMetricFamily(
                    "gamepay_orders",
                    "Orders (and their intents) by kind and status now (from the database).",
                    labels=["kind", "status"],
                ),
            ),
            (
                "withdrawals",
                GaugeMetricFamily(
                    "gamepay_withdrawal_states",
                    "Withdrawals by status now (from the database).",
                    labels=["status"],
                ),
            ),
            (
                "rewards",
                CounterMetricFamily(
                    "gamepay_reward_payouts",
                    "Reward payouts paid, by program (from the database).",
                    labels=["program"],
                ),
            ),
        ]
        for name, family in families:
            for labels, value in sorted(self._snapshot.get(name, {}).items()):
                family.add_metric(list(labels), value)  # type: ignore[attr-defined]
            yield family

    def describe(self) -> Iterable[Metric]:
        """The families this collector yields (so registration checks names without I/O)."""
        return self.collect()


class InstrumentedCallbacks:
    """Wraps a callback handler (``Payments``): times each callback, counts its outcome, and
    binds ``request_id``, ``intent_id`` and ``order_id`` for every line logged while it runs.

    The ids are read from the body for logging only (capped, never trusted for anything else);
    the wrapped handler still decides everything from the raw body.
    """

    def __init__(self, handler: CallbackTarget, metrics: Metrics) -> None:
        self.handler = handler
        self.metrics = metrics

    async def handle_callback(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """Forward to the wrapped handler, timed and with the log context bound."""
        started = time.perf_counter()
        status: int | None = None
        intent_id, order_id = _ids_of(body)
        request_id = headers.get("x-request-id") or f"cb-{secrets.token_hex(6)}"
        try:
            with log_context(request_id=request_id[:64], intent_id=intent_id, order_id=order_id):
                result = await self.handler.handle_callback(body, headers)
            status = _status_of(result)
            return result
        except GamepayError:
            status = 400  # what the endpoint answers for a refused callback
            raise
        finally:
            self.metrics.observe_callback(time.perf_counter() - started, status)


class CallbackTarget(Protocol):
    """Anything with ``handle_callback(body, headers)`` (``Payments`` has it)."""

    async def handle_callback(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """Check and apply one callback."""
        ...


def _ids_of(body: bytes) -> tuple[str | None, str | None]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    intent = data.get("payment_intent_id")
    order_data = data.get("order_data")
    order = order_data.get("order_id") if isinstance(order_data, dict) else None
    return (
        intent[:80] if isinstance(intent, str) else None,
        order[:80] if isinstance(order, str) else None,
    )


def metrics_endpoint(
    metrics: Metrics, refresh: Callable[[], Awaitable[None]] | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint serving ``metrics.render()`` (after ``refresh()``, if given)."""

    async def endpoint(request: Request) -> Response:
        if refresh is not None:
            try:
                await refresh()
            except Exception:
                # Serve the last snapshot rather than nothing; the failure is logged.
                logger.exception("refreshing metrics from the database failed")
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return endpoint


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
