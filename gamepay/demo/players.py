"""A simulated player: a websocket client of the gamepay adapter (protocol 2).

It authenticates with a token, sends requests with ids and awaits the matching replies, and
collects every push (``event`` frames) the server sends it, as a real game client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import Counter
from types import TracebackType
from typing import Any, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

__all__ = ["PlayerClient", "ReplyError"]


class ReplyError(Exception):
    """The server answered a request with an ``error`` frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PlayerClient:
    """One player's websocket connection: ``request()`` and the pushes received."""

    def __init__(self, ws_url: str, token: str, *, timeout: float = 15.0) -> None:
        self.ws_url = ws_url
        self.token = token
        self.timeout = timeout
        self.player_id: str | None = None
        self.pushes: list[dict[str, Any]] = []
        self.push_counts: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pushed = asyncio.Event()

    async def __aenter__(self) -> Self:
        """Connect and authenticate (``ReplyError`` if the token is refused)."""
        self._ws = await connect(self.ws_url, open_timeout=self.timeout, compression=None)
        self._reader = asyncio.create_task(self._read(), name="gp-demo-player")
        reply = await self.request("authenticate", token=self.token)
        self.player_id = str(reply["player_id"])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the connection and stop reading."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                message = json.loads(frame)
                if message.get("type") == "event":
                    self.pushes.append(message)
                    self.push_counts[str(message.get("event"))] += 1
                    self._pushed.set()
                    continue
                waiter = self._waiting.pop(message.get("id"), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(message)
        except ConnectionClosed:
            pass
        finally:
            for waiter in self._waiting.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError("connection closed"))

    async def request(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send one request and return its reply; ``ReplyError`` for an error reply."""
        assert self._ws is not None
        request_id = next(self._ids)
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        await self._ws.send(json.dumps({"type": kind, "id": request_id, **fields}))
        reply = await asyncio.wait_for(waiter, self.timeout)
        if reply.get("type") == "error":
            raise ReplyError(str(reply.get("code")), str(reply.get("message")))
        return reply

    async def wait_for_push(
        self, event: str, *, order_id: str | None = None, within: float = 5.0
    ) -> bool:
        """Wait until a push of type ``event`` (for ``order_id``, if given) arrived."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for push in self.pushes:
                if push.get("event") == event and (
                    order_id is None or push.get("data", {}).get("order_id") == order_id
                ):
                    return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._pushed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pushed.wait(), left)
