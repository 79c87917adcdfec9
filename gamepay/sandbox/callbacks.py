"""Callback delivery: a background worker POSTs intent snapshots to ``callback_url``.

One worker task sends one request at a time, in enqueue order, except where faults say
otherwise (see ``gamepay.sandbox.faults``); ``SandboxConfig.callback_concurrency`` > 1 runs that
many workers, which is faster but no longer keeps the order. A delivery that gets a non-2xx
answer or a connection error is retried after ``min(cap, base * 2**(attempt-1))`` seconds, up to
``callback_max_attempts`` attempts; a retry waits aside, so one failing receiver does not block
the others. With a ``callback_secret`` the body is signed at each attempt with the sandbox clock
(``gamepay.kryptogo.signing.sign_body``), so a retried callback carries a fresh timestamp.

Every attempt (and every dropped callback) is appended to ``CallbackDispatcher.log``;
``flush()`` waits until nothing is left to deliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from gamepay.eventloop import stop_tasks
from gamepay.kryptogo.signing import sign_body
from gamepay.sandbox.config import SandboxConfig
from gamepay.sandbox.faults import FaultPlan

__all__ = ["CallbackAttempt", "CallbackDispatcher", "Delivery", "Outcome"]

logger = logging.getLogger("gamepay.sandbox.callbacks")

Outcome = Literal["delivered", "http_error", "connection_error", "gave_up", "dropped"]
"""What one attempt came to; ``gave_up`` follows the last failed attempt."""


@dataclass
class Delivery:
    """One callback to send (a duplicate is a second Delivery with the same body)."""

    delivery_id: int
    intent_id: str
    status: str
    url: str
    body: dict[str, Any]
    duplicate_of: int | None = None
    attempts: int = 0


@dataclass(frozen=True)
class CallbackAttempt:
    """One entry of the delivery log."""

    delivery_id: int
    intent_id: str
    status: str
    url: str
    attempt: int
    outcome: Outcome
    http_status: int | None = None
    error: str | None = None
    duplicate_of: int | None = None
    body: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


class CallbackDispatcher:
    """Queue, fault-inject, send and retry callbacks; ``flush()`` waits for all of them."""

    def __init__(
        self,
        config: SandboxConfig,
        plan: Callable[[], FaultPlan],
        now: Callable[[], int],
    ) -> None:
        self._config = config
        self._plan = plan
        self._now = now
        self._ids = itertools.count(1)
        self._ready: deque[Delivery] = deque()
        self._waiting: list[tuple[float, int, Delivery]] = []
        self._held: tuple[float, Delivery] | None = None
        self._inflight = 0
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.log: list[CallbackAttempt] = []

    # -- queueing (synchronous: called from the sandbox's state changes) ----------------------

    def enqueue(self, intent_id: str, status: str, url: str, body: dict[str, Any]) -> None:
        """Queue a callback of ``body``, applying the drawn faults; starts the worker if it can."""
        delivery = Delivery(next(self._ids), intent_id, status, url, body)
        fault = self._plan().for_callback(f"{intent_id}:{status}:{delivery.delivery_id}")
        if fault.drop:
            self._record(delivery, "dropped")
            return
        copies = [delivery]
        if fault.duplicate:
            twin = Delivery(next(self._ids), intent_id, status, url, body, delivery.delivery_id)
            copies.append(twin)
        now = self._loop_time()
        for item in copies:
            if fault.delay > 0:
                self._schedule(now + fault.delay, item)
            elif fault.reorder and item is delivery and self._held is None:
                self._held = (now + self._config.callback_reorder_hold, item)
            else:
                self._ready.append(item)
                self._release_held_after_ready()
        self._wake.set()
        self.start()

    def _release_held_after_ready(self) -> None:
        """A newer callback is ready: the held one now goes after it (the reorder)."""
        if self._held is not None:
            self._ready.append(self._held[1])
            self._held = None

    def _schedule(self, due: float, delivery: Delivery) -> None:
        heapq.heappush(self._waiting, (due, delivery.delivery_id, delivery))

    @staticmethod
    def _loop_time() -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return 0.0

    @property
    def pending(self) -> int:
        """Callbacks not yet delivered nor given up (queued, waiting, held, or in flight)."""
        held = 0 if self._held is None else 1
        return len(self._ready) + len(self._waiting) + held + self._inflight

    # -- the worker ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker tasks if there is a running loop and they are not running."""
        if self._tasks and not all(task.done() for task in self._tasks):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._wake = asyncio.Event()
        self._wake.set()
        self._progress = asyncio.Event()
        self._tasks = [
            loop.create_task(self._run(), name=f"gamepay-sandbox-callbacks-{n}")
            for n in range(self._config.callback_concurrency)
        ]

    async def flush(self, within: float = 10.0) -> None:
        """Release held callbacks and wait until every queued callback is delivered or given up.

        Raises ``TimeoutError`` (the builtin) if that takes longer than ``within`` seconds.
        """
        self.start()
        if self._held is not None:
            self._ready.append(self._held[1])
            self._held = None
            self._wake.set()
        async with asyncio.timeout(within):
            while self.pending:
                self._progress.clear()
                await self._progress.wait()

    async def aclose(self) -> None:
        """Stop the workers; undelivered callbacks stay queued (and are not sent)."""
        tasks, self._tasks = self._tasks, []
        await stop_tasks(tasks)

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self._config.callback_timeout) as client:
            while True:
                self._promote_due()
                if self._ready:
                    delivery = self._ready.popleft()
                    self._inflight += 1
                    try:
                        await self._attempt(client, delivery)
                    finally:
                        self._inflight -= 1
                        self._progress.set()
                    continue
                await self._sleep_until_next()

    def _promote_due(self) -> None:
        now = asyncio.get_running_loop().time()
        while self._waiting and self._waiting[0][0] <= now:
            self._ready.append(heapq.heappop(self._waiting)[2])
        if self._held is not None and self._held[0] <= now:
            self._ready.append(self._held[1])
            self._held = None

    async def _sleep_until_next(self) -> None:
        dues = [due for due, _, _ in self._waiting[:1]]
        if self._held is not None:
            dues.append(self._held[0])
        timeout = max(0.0, min(dues) - asyncio.get_running_loop().time()) if dues else None
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _attempt(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        delivery.attempts += 1
        body = delivery.body
        secret = self._config.callback_secret
        if secret is not None:
            body = sign_body(body, secret.get_secret_value(), self._now())
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "gamepay-sandbox",
            "X-Sandbox-Delivery": str(delivery.delivery_id),
        }
        try:
            response = await client.post(delivery.url, content=content, headers=headers)
        except Exception as exc:  # any failure to get an answer (bad URL included) is retried
            self._record(delivery, "connection_error", error=type(exc).__name__, body=body)
        else:
            if 200 <= response.status_code < 300:
                self._record(delivery, "delivered", http_status=response.status_code, body=body)
                return
            self._record(delivery, "http_error", http_status=response.status_code, body=body)
        if delivery.attempts >= self._config.callback_max_attempts:
            self._record(delivery, "gave_up", body=body)
            logger.warning(
                "callback %s for %s given up after %d attempts",
                delivery.delivery_id,
                delivery.intent_id,
                delivery.attempts,
            )
            return
        backoff = min(
            self._config.callback_retry_cap,
            self._config.callback_retry_base * 2 ** (delivery.attempts - 1),
        )
        self._schedule(asyncio.get_running_loop().time() + backoff, delivery)

    def _record(
        self,
        delivery: Delivery,
        outcome: Outcome,
        *,
        http_status: int | None = None,
        error: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        self.log.append(
            CallbackAttempt(
                delivery_id=delivery.delivery_id,
                intent_id=delivery.intent_id,
                status=delivery.status,
                url=delivery.url,
                attempt=delivery.attempts,
                outcome=outcome,
                http_status=http_status,
                error=error,
                duplicate_of=delivery.duplicate_of,
                body=delivery.body if body is None else body,
            )
        )
