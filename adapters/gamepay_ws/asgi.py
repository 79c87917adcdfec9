"""The websocket adapter as an ASGI endpoint: protocol v1 at ``/ws`` of any Starlette/FastAPI app.

One port for everything: the game's own routes, the KryptoGO callback, ``/healthz`` and the
players' websocket::

    adapter = WebsocketAdapter(backend, HmacTokenAuthenticator(secret), bus=bus)
    app = Starlette(routes=[*callback_routes(payments),
                            WebSocketRoute("/ws", WebsocketEndpoint(adapter))])
    # FastAPI: app.add_websocket_route("/ws", WebsocketEndpoint(adapter))

The endpoint only moves frames: each connection is accepted and handed to
:meth:`gamepay_ws.server.WebsocketAdapter.handler`, the same pump (and the same sans-I/O
``Session``) the standalone ``websockets`` server runs, so both transports behave alike. The
endpoint starts the adapter (subscribes it to the bus) on its first connection; stop it with
``adapter.stop()`` (or ``async with adapter``) when the app shuts down. Set the ASGI server's
frame limit near ``AdapterConfig.max_message_bytes`` (uvicorn: ``ws_max_size``); the adapter
closes with 1009 above it either way. A plain HTTP request to the endpoint gets 426.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from gamepay_ws.server import Socket, SocketClosed, WebsocketAdapter

__all__ = ["AsgiSocket", "Message", "Receive", "Scope", "Send", "WebsocketEndpoint"]

Scope = MutableMapping[str, Any]
"""An ASGI connection scope (the same shape as ``starlette.types.Scope``)."""
Message = MutableMapping[str, Any]
"""An ASGI event."""
Receive = Callable[[], Awaitable[Message]]
"""The ASGI ``receive`` callable."""
Send = Callable[[Message], Awaitable[None]]
"""The ASGI ``send`` callable."""


class AsgiSocket:
    """An accepted ASGI websocket seen as the adapter's ``Socket`` (recv, send, close)."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.closed = False
        self.close_code: int | None = None
        """The close code the peer sent (None until it closed, or when we closed first)."""

    async def recv(self) -> str | bytes:
        """The next text or binary message; ``SocketClosed`` once the connection is closed."""
        while not self.closed:
            message = await self._receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                if text is not None:
                    return str(text)
                return bytes(message.get("bytes") or b"")
            if kind == "websocket.disconnect":
                self.closed = True
                self.close_code = int(message.get("code", 1005))
        raise SocketClosed("the websocket is closed")

    async def send(self, message: str) -> None:
        """Send one text frame; ``SocketClosed`` if the connection is (or just got) closed."""
        if self.closed:
            raise SocketClosed("the websocket is closed")
        try:
            await self._send({"type": "websocket.send", "text": message})
        except OSError as exc:  # the server's "client disconnected" (uvicorn: ClientDisconnected)
            self.closed = True
            raise SocketClosed("the websocket is closed") from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame, once; nothing if the connection is already closed."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            await self._send({"type": "websocket.close", "code": code, "reason": reason})


class WebsocketEndpoint:
    """An ASGI app that serves each websocket connection with a ``WebsocketAdapter``.

    ``adapter`` may be set after the app is mounted (when the services need the app's bound port
    first): until then a connection is refused with close code 1013 (try again later).
    """

    def __init__(
        self,
        adapter: WebsocketAdapter | None = None,
        *,
        handler: Callable[[WebsocketAdapter, Socket], Awaitable[None]] | None = None,
    ) -> None:
        self.adapter = adapter
        self.handler = handler
        """Serves one accepted connection instead of ``adapter.handler`` (a wrapper that calls
        it, counting connections or binding a log context, say)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection: a websocket until it closes; 426 for plain HTTP."""
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(receive, send)
        elif kind == "http":
            await _upgrade_required(send)
        elif kind == "lifespan":
            await _lifespan(self.adapter, receive, send)

    async def _websocket(self, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return  # gone before the handshake
        adapter = self.adapter
        if adapter is None:
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1013, "reason": "starting"})
            return
        adapter.start()
        await send({"type": "websocket.accept"})
        socket = AsgiSocket(receive, send)
        try:
            if self.handler is None:
                await adapter.handler(socket)
            else:
                await self.handler(adapter, socket)
        finally:
            await socket.close()  # 1000 when the adapter did not close it itself


async def _upgrade_required(send: Send) -> None:
    body = b"this endpoint speaks websocket (gamepay protocol v1)\n"
    await send(
        {
            "type": "http.response.start",
            "status": 426,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"upgrade", b"websocket"),
                (b"connection", b"upgrade"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(adapter: WebsocketAdapter | None, receive: Receive, send: Send) -> None:
    """Run as the root app: start the adapter at start-up and stop it at shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if adapter is not None:
                adapter.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if adapter is not None:
                adapter.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return
