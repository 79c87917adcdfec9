"""The KryptoGO callback endpoint: a small Starlette app served beside the websocket server.

KryptoGO Studio POSTs a payment intent's JSON to the ``callback_url`` of each intent. The app
hands the raw body and the headers to ``Payments.handle_callback`` untouched (the signature is
checked over the raw bytes, and the intent is fetched back from the API before anything is
posted), and answers with the status and body it returns.

How a studio exposes it: run :func:`serve_http` (or any ASGI server) on an internal port, put it
behind the game's reverse proxy (TLS terminated there) at a public URL such as
``https://game.example.com/kryptogo/callback``, configure that URL as the intents'
``callback_url``, and set the callback signature secret on the ``Payments`` service. The same
app can serve the players' websocket at ``/ws`` (``gamepay_ws.asgi.WebsocketEndpoint``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gamepay.errors import GamepayError, PortInUse

__all__ = [
    "CALLBACK_PATH",
    "CallbackHandler",
    "callback_app",
    "callback_routes",
    "listen_socket",
    "serve_http",
]

logger = logging.getLogger("gamepay.ws.callback")

CALLBACK_PATH = "/kryptogo/callback"
"""Where the callback endpoint listens by default."""

MAX_CALLBACK_BYTES = 256 * 1024


class CallbackHandler(Protocol):
    """What receives a callback: ``gamepay.payments.service.Payments`` has this method."""

    async def handle_callback(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """Check and apply one callback; return something with ``status`` and ``body``."""
        ...


def _response(result: Any) -> Response:
    status = int(getattr(result, "status", 200))
    body = getattr(result, "body", b"")
    if isinstance(body, bytes):
        return Response(body, status_code=status, media_type="application/json")
    if isinstance(body, str):
        return Response(body.encode(), status_code=status, media_type="application/json")
    return Response(json.dumps(body).encode(), status_code=status, media_type="application/json")


def callback_routes(handler: CallbackHandler, path: str = CALLBACK_PATH) -> list[Route]:
    """The callback route (and ``GET /healthz``), to add to a game's own Starlette app."""

    async def callback(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_CALLBACK_BYTES:
            return JSONResponse({"error": "body too large"}, status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_CALLBACK_BYTES:
                return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            result = await handler.handle_callback(body, dict(request.headers))
        except GamepayError as exc:
            logger.warning("callback refused: %s", exc.code)
            return JSONResponse({"error": exc.code}, status_code=400)
        return _response(result)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return [
        Route(path, callback, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]


def callback_app(handler: CallbackHandler, path: str = CALLBACK_PATH) -> Starlette:
    """A Starlette app serving only the callback endpoint and a health check."""
    return Starlette(routes=callback_routes(handler, path))


@asynccontextmanager
async def serve_http(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ws_max_size: int = 16 * 1024 * 1024,
    ws_per_message_deflate: bool = False,
) -> AsyncIterator[int]:
    """Serve an ASGI app with uvicorn in this event loop; yield the bound port, stop on exit.

    ``ws_max_size`` (bytes) and ``ws_per_message_deflate`` apply to websocket routes (a
    ``gamepay_ws.asgi.WebsocketEndpoint``): pass ``AdapterConfig.max_message_bytes``. Compression
    is off by default, as on the standalone server: game frames are small JSON, and deflate costs
    CPU per frame and a zlib context per connection.
    ``PortInUse`` when another process holds ``host:port`` (never ``SystemExit``: this runs
    inside a host's game server).
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        ws_max_size=ws_max_size,
        ws_per_message_deflate=ws_per_message_deflate,
    )
    server = uvicorn.Server(config)
    sock = listen_socket(host, port)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                try:
                    task.result()
                except SystemExit as exc:  # uvicorn exits the process on a failed start-up
                    raise RuntimeError(f"uvicorn stopped before it started ({exc})") from None
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        bound: int = server.servers[0].sockets[0].getsockname()[1]
        yield bound
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: any free port); ``PortInUse`` if it is taken."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from exc
        raise
    sock.setblocking(False)
    return sock
