"""Helpers for tests, ours and the studios': throwaway databases, a served KryptoGO sandbox,
and builders of the bodies KryptoGO sends (``intent_payload``)."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gamepay.kryptogo.models import PaymentIntent
from gamepay.kryptogo.signing import sign_body
from gamepay.sandbox import Faults, RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from gamepay.sandbox.server import DEFAULT_ORIGIN, serve_asgi

__all__ = [
    "CallbackEndpoint",
    "CallbackRecorder",
    "ReceivedCallback",
    "RunningSandbox",
    "ThreadedSandbox",
    "callback_body",
    "callback_endpoint",
    "callback_recorder",
    "forged_callback",
    "fresh_postgres_database",
    "intent_payload",
    "running_sandbox",
    "sandbox_in_thread",
    "sqlite_url",
]


def sqlite_url(path: Path | str) -> str:
    """Return the gamepay database URL of a SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _plain(url: str) -> str:
    """Drop a SQLAlchemy driver suffix (``postgresql+asyncpg``) so asyncpg accepts the URL."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


@asynccontextmanager
async def fresh_postgres_database(server_url: str) -> AsyncIterator[str]:
    """Create an empty database on the server of ``server_url``, yield its URL, then drop it."""
    name = f"gp_{secrets.token_hex(6)}"
    import asyncpg  # the postgres extra

    admin = await asyncpg.connect(_plain(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(server_url, name)
    finally:
        admin = await asyncpg.connect(_plain(server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def running_sandbox(
    config: SandboxConfig | None = None,
    faults: Faults | None = None,
    *,
    sandbox: Sandbox | None = None,
    origin: str = DEFAULT_ORIGIN,
) -> AsyncIterator[RunningSandbox]:
    """Serve a KryptoGO sandbox over real HTTP on 127.0.0.1 (a free port) in this event loop.

    Yields a ``RunningSandbox`` with ``.url``, ``.client_id``, ``.api_key``, ``.origin``,
    ``.headers()`` and ``.sandbox`` (the Python control API). Pass ``sandbox=`` to serve an
    existing one (e.g. to restart a server over the same state). On exit every request held by a
    fault is released, and the server, the callback worker and the expiry ticker are stopped.
    """
    target = sandbox if sandbox is not None else Sandbox(config, faults)
    async with serve_sandbox(target, origin=origin) as running:
        yield running


_EXAMPLE_INTENT: Mapping[str, Any] = {
    "payment_intent_id": "pi_1",
    "payment_chain_id": "arb",
    "payment_address": "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045",
    "token_address": "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
    "symbol": "USDT",
    "decimals": 6,
    "crypto_amount": "9.23",
    "fiat_amount": "300.0",
    "fiat_currency": "TWD",
    "payment_deadline": 1733811354,
    "status": "pending",
}


def intent_payload(**fields: Any) -> dict[str, Any]:
    """A payment intent body as the API sends it, ``fields`` replacing or adding keys.

    The base is the API reference's example (9.23 USDT on arb for 300 TWD, pending, id
    ``pi_1``); every call returns a fresh dict.
    """
    return {**_EXAMPLE_INTENT, **fields}


def callback_body(
    intent: PaymentIntent | dict[str, Any],
    secret: str | None = None,
    *,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """The JSON body KryptoGO (and the sandbox) POSTs for ``intent``, signed when ``secret``."""
    body = intent.to_wire() if isinstance(intent, PaymentIntent) else dict(intent)
    if secret is None:
        return body
    return sign_body(body, secret, int(time.time()) if timestamp is None else timestamp)


@dataclass(frozen=True)
class ReceivedCallback:
    """One request a ``CallbackRecorder`` received, and the status it answered."""

    raw: bytes
    headers: dict[str, str]
    answered: int

    @property
    def body(self) -> Any:
        """The parsed JSON body (None if it was not JSON)."""
        try:
            return json.loads(self.raw)
        except ValueError:
            return None


@dataclass
class CallbackRecorder:
    """A real HTTP endpoint that records callbacks; it can be told to fail the next requests."""

    url: str = ""
    received: list[ReceivedCallback] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status`` (a non-2xx makes the sender retry)."""
        self._failures.extend([status] * count)

    def accepted(self) -> list[Any]:
        """Bodies of the requests answered 2xx, in arrival order."""
        return [r.body for r in self.received if 200 <= r.answered < 300]

    async def wait_for(self, count: int, within: float = 5.0) -> list[Any]:
        """Wait until ``count`` requests were accepted; return their bodies."""
        async with asyncio.timeout(within):
            while len(self.accepted()) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.accepted()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The ASGI app: record the body, answer 200 (or the next scheduled failure)."""
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        status = self._failures.pop(0) if self._failures else 200
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.received.append(ReceivedCallback(b"".join(chunks), headers, status))
        self._arrived.set()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def callback_recorder(path: str = "/callback") -> AsyncIterator[CallbackRecorder]:
    """Serve a ``CallbackRecorder`` on 127.0.0.1 (a free port); ``.url`` ends with ``path``."""
    recorder = CallbackRecorder()
    async with serve_asgi(recorder) as (url, _stop):
        recorder.url = url + path
        yield recorder


@dataclass
class CallbackEndpoint:
    """A real HTTP endpoint that hands every request to ``handler`` (``Payments.handle_callback``).

    ``handler(body, headers)`` returns anything with ``status``, ``body`` and ``content_type``
    (a ``CallbackResponse``); until it is set the endpoint answers 503. ``answered`` lists the
    statuses sent back, in order.
    """

    url: str = ""
    handler: Callable[[bytes, Mapping[str, str]], Awaitable[Any]] | None = None
    answered: list[int] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The ASGI app: read the raw body, call the handler, send its answer."""
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        status, body, content_type = 503, b'{"ok": false}', "application/json"
        if self.handler is not None:
            answer = await self.handler(b"".join(chunks), headers)
            status, body, content_type = answer.status, answer.body, answer.content_type
        self.answered.append(status)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def callback_endpoint(
    handler: Callable[[bytes, Mapping[str, str]], Awaitable[Any]] | None = None,
    path: str = "/kryptogo/callback",
) -> AsyncIterator[CallbackEndpoint]:
    """Serve a ``CallbackEndpoint`` on 127.0.0.1 (a free port); ``.url`` ends with ``path``."""
    endpoint = CallbackEndpoint(handler=handler)
    async with serve_asgi(endpoint) as (url, _stop):
        endpoint.url = url + path
        yield endpoint


def forged_callback(
    intent: PaymentIntent | dict[str, Any],
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    **claims: Any,
) -> bytes:
    """A callback body for ``intent`` claiming ``claims`` (e.g. ``status="success"``), as bytes.

    For tests of the rule that a callback is only a hint: whatever it claims, the intent is
    fetched back from the API. Amount claims are decimal strings, as on the wire.
    """
    body = intent.to_wire() if isinstance(intent, PaymentIntent) else dict(intent)
    body.update(claims)
    return json.dumps(callback_body(body, secret, timestamp=timestamp)).encode()


class ThreadedSandbox:
    """A sandbox served from a background thread (its own event loop), for synchronous tests.

    ``url``, ``client_id``, ``api_key``, ``origin`` and ``headers()`` as on ``RunningSandbox``;
    ``call(fn, *args)`` runs a control operation on the sandbox's loop (its state is not
    thread-safe), e.g. ``threaded.call(threaded.sandbox.pay, intent_id, "exact")``.
    """

    def __init__(self, config: SandboxConfig | None = None, faults: Faults | None = None) -> None:
        self.sandbox = Sandbox(config, faults)
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._running: RunningSandbox | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, name="gamepay-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(30) or self._running is None:
            raise RuntimeError("the sandbox thread did not start") from self._failure

    def _serve(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with running_sandbox(sandbox=self.sandbox) as running:
                self._running = running
                self._ready.set()
                await self._stop.wait()

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the constructor or to close()
            self._failure = exc
        finally:
            self._ready.set()

    @property
    def running(self) -> RunningSandbox:
        """The served sandbox's address and credentials."""
        assert self._running is not None
        return self._running

    @property
    def url(self) -> str:
        """Base URL of the served sandbox."""
        return self.running.url

    @property
    def client_id(self) -> str:
        """The client id it accepts."""
        return self.running.client_id

    @property
    def api_key(self) -> str:
        """The API key it accepts."""
        return self.running.api_key

    @property
    def origin(self) -> str:
        """The Origin header value to send."""
        return self.running.origin

    def headers(self) -> dict[str, str]:
        """The KryptoGO auth headers it accepts."""
        return self.running.headers()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on the sandbox's loop and return its result."""
        assert self._loop is not None

        async def run() -> Any:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    def flush_callbacks(self, within: float = 10.0) -> None:
        """Wait until every queued callback is delivered or given up."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self.sandbox.flush_callbacks(within), self._loop)
        future.result(within + 5)

    def close(self) -> None:
        """Stop the server and join the thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        if self._failure is not None:
            raise RuntimeError("the sandbox thread failed") from self._failure


@contextmanager
def sandbox_in_thread(
    config: SandboxConfig | None = None, faults: Faults | None = None
) -> Iterator[ThreadedSandbox]:
    """Serve a sandbox from a background thread for synchronous code; stop it on exit."""
    threaded = ThreadedSandbox(config, faults)
    try:
        yield threaded
    finally:
        threaded.close()
