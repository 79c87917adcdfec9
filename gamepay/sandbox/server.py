"""Serving a sandbox over real HTTP with uvicorn, inside the caller's event loop.

``serve_sandbox`` binds 127.0.0.1 (port 0 picks a free port), starts uvicorn as a task, and on
exit releases hanging requests, stops uvicorn, stops the sandbox's background work and closes
the socket, leaving no task behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from gamepay.sandbox.app import HEADER_API_KEY, HEADER_CLIENT_ID, HEADER_ORIGIN, create_app
from gamepay.sandbox.emulator import Sandbox

__all__ = ["DEFAULT_ORIGIN", "QuickStopServer", "RunningSandbox", "serve_asgi", "serve_sandbox"]

DEFAULT_ORIGIN = "http://localhost"
"""The ``Origin`` header value ``RunningSandbox.headers()`` sends."""


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox served over HTTP: where it is, what it accepts, and its Python control API."""

    url: str
    client_id: str
    api_key: str
    origin: str
    sandbox: Sandbox

    def __repr__(self) -> str:
        return f"RunningSandbox(url={self.url!r}, client_id={self.client_id!r})"

    def headers(self) -> dict[str, str]:
        """The KryptoGO auth headers this sandbox accepts."""
        return {
            HEADER_CLIENT_ID: self.client_id,
            HEADER_API_KEY: self.api_key,
            HEADER_ORIGIN: self.origin,
        }


class QuickStopServer(uvicorn.Server):
    """uvicorn's server, stopping as soon as asked instead of at its next 0.1 s tick."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_now = asyncio.Event()

    async def main_loop(self) -> None:
        """Refresh the date header every second until told to exit (or a signal arrives)."""
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exit_now.wait(), 1.0)


@asynccontextmanager
async def serve_asgi(
    app: Any, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[tuple[str, Callable[[], None]]]:
    """Serve any ASGI ``app`` with uvicorn in the running loop; yield ``(url, stop)``.

    The server stops when the block exits (``stop()`` only asks it to, e.g. to close a server
    while requests are held). No lifespan events are sent.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit TCP_NODELAY: without it h11 answers wait ~40 ms (Nagle +
    # delayed ACK) on every request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = QuickStopServer(config)

    def stop() -> None:
        server.should_exit = True
        server.exit_now.set()

    task = asyncio.create_task(server.serve(sockets=[sock]), name="gamepay-uvicorn")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.002)
        yield f"http://{host}:{sock.getsockname()[1]}", stop
    finally:
        stop()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


@asynccontextmanager
async def serve_sandbox(
    sandbox: Sandbox,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    origin: str = DEFAULT_ORIGIN,
) -> AsyncIterator[RunningSandbox]:
    """Serve ``sandbox`` with uvicorn in the running loop until the block exits."""
    app = create_app(sandbox, manage_lifecycle=False)
    await sandbox.start()
    try:
        async with serve_asgi(app, host=host, port=port) as (url, _stop):
            try:
                yield RunningSandbox(
                    url=url,
                    client_id=sandbox.config.client_id,
                    api_key=sandbox.config.api_key.get_secret_value(),
                    origin=origin,
                    sandbox=sandbox,
                )
            finally:
                sandbox.release_hangs()
    finally:
        await sandbox.aclose()
