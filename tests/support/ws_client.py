"""A small protocol-2 test client over a real websocket (asyncio), keeping pushes apart.

Money-moving requests get a fresh ``request_id`` unless the test passes one (``request_id=None``
sends none, to see the server refuse it).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from gamepay_ws.protocol import MONEY_MOVING

__all__ = ["Client", "open_client"]


class Client:
    """Sends requests with increasing ids; collects pushes; returns each request's reply."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pushes: list[dict[str, Any]] = []
        self._next = 0

    async def send_raw(self, frame: str | bytes) -> None:
        """Send a frame as is."""
        await self.ws.send(frame)

    async def next_reply(self, within: float = 10.0) -> dict[str, Any]:
        """The next frame that is not a push (replies and errors), buffering pushes."""
        async with asyncio.timeout(within):
            while True:
                message: dict[str, Any] = json.loads(await self.ws.recv())
                if message["type"] in ("event", "replay_complete"):
                    self.pushes.append(message)
                    continue
                return message

    async def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send one request and return its reply (a result or an error)."""
        self._next += 1
        request_id = self._next
        if type_ in MONEY_MOVING and "request_id" not in fields:
            fields["request_id"] = f"test-{uuid.uuid4()}"
        if fields.get("request_id", "") is None:
            del fields["request_id"]
        await self.ws.send(json.dumps({"type": type_, "id": request_id, **fields}))
        reply = await self.next_reply()
        assert reply["id"] == request_id, reply
        return reply

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        """A request that must succeed."""
        reply = await self.request(type_, **fields)
        assert reply["type"] == f"{type_}_result", reply
        return reply

    async def wait_push(
        self, match: Callable[[dict[str, Any]], bool], within: float = 10.0
    ) -> dict[str, Any]:
        """The first buffered or arriving push for which ``match`` holds."""
        async with asyncio.timeout(within):
            while True:
                for push in self.pushes:
                    if match(push):
                        return push
                message: dict[str, Any] = json.loads(await self.ws.recv())
                self.pushes.append(message)

    async def until_closed(self, within: float = 10.0) -> tuple[list[dict[str, Any]], Close]:
        """Every reply until the server closes; the replies and the close frame it sent."""
        replies: list[dict[str, Any]] = []
        close: Close | None = None
        try:
            while True:
                replies.append(await self.next_reply(within))
        except ConnectionClosed as exc:
            close = exc.rcvd
        assert close is not None, "the server closed without a close frame"
        return replies, close

    def events(self) -> list[dict[str, Any]]:
        """The event pushes received so far."""
        return [p for p in self.pushes if p["type"] == "event"]


class open_client:
    """Connect, optionally authenticate, and close at the end."""

    def __init__(self, url: str, token: str | None = None, **auth: Any) -> None:
        self.url = url
        self.token = token
        self.auth = auth
        self._cm: Any = None

    async def __aenter__(self) -> Client:
        self._cm = connect(self.url, max_size=2**22, compression=None)
        client = Client(await self._cm.__aenter__())
        if self.token is not None:
            await client.ok("authenticate", token=self.token, **self.auth)
        return client

    async def __aexit__(self, *exc: object) -> None:
        await self._cm.__aexit__(*exc)
