"""The websocket adapter: a thin asyncio pump between sockets and sans-I/O sessions, and a hub.

Standalone::

    adapter = WebsocketAdapter(backend, HmacTokenAuthenticator(secret), bus=bus)
    async with adapter:                                 # subscribes to the bus
        async with adapter.serve("0.0.0.0", 8765) as server:
            await server.serve_forever()

Mounted in an ASGI app (Starlette, FastAPI) at ``/ws``, on the app's own port: see
:mod:`gamepay_ws.asgi` (``WebsocketEndpoint(adapter)``). Mounted in the game's own ``websockets``
server: ``await adapter.handler(connection)`` from the game's handler (e.g. for the path
``/gamepay``); set ``max_size`` on that server as well (the adapter also closes with 1009 on a
message above ``AdapterConfig.max_message_bytes``).

A connection is anything with the :class:`Socket` methods (a ``websockets`` connection is one;
``gamepay_ws.asgi`` wraps an ASGI websocket in one); it signals the peer's close by raising
``websockets.exceptions.ConnectionClosed`` or :class:`SocketClosed`.

What the protocol decides (authentication, push order, replay) is in
:class:`gamepay_ws.session.Session`; this module does the I/O it asks for. Per connection: frames
are read one at a time, each after the previous one's actions are done; a token bucket limits
the rate (an over-limit message gets a ``rate_limited`` error; a connection that keeps flooding
is closed with 1008). Every outgoing frame goes through a bounded per-connection queue written
by one task, so a slow client never blocks pushes to others (it is closed with 1013 when it
falls too far behind, and replays on reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.asyncio.server import Server, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from gamepay.bus.base import EventBus, Subscription
from gamepay.core.events import Event
from gamepay.errors import RateLimited, TokenRejected
from gamepay_ws.auth import Authenticator
from gamepay_ws.dispatch import answer
from gamepay_ws.port import ShopBackend
from gamepay_ws.protocol import error_reply, peek_raw_id
from gamepay_ws.ratelimit import TokenBucket
from gamepay_ws.session import (
    Action,
    CheckToken,
    Close,
    FetchEvents,
    Join,
    RunRequest,
    Send,
    Session,
    SessionState,
)

__all__ = ["AdapterConfig", "Socket", "SocketClosed", "WebsocketAdapter"]

logger = logging.getLogger("gamepay.ws")


class SocketClosed(Exception):
    """The connection is closed (raised by a :class:`Socket` that is not a ``websockets`` one)."""


class Socket(Protocol):
    """One websocket connection as the pump drives it (a ``websockets`` connection is one)."""

    async def recv(self) -> str | bytes:
        """The next message; raises ``SocketClosed`` (or ``ConnectionClosed``) once closed."""
        ...

    async def send(self, message: str) -> None:
        """Send one text frame; raises ``SocketClosed`` (or ``ConnectionClosed``) once closed."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (nothing when already closed)."""
        ...


_CLOSED = (ConnectionClosed, SocketClosed)
"""What a socket raises once the connection is closed."""


@dataclass(frozen=True, slots=True)
class AdapterConfig:
    """Limits of the adapter; the defaults suit a game client talking to a shop."""

    max_message_bytes: int = 64 * 1024
    """Larger frames are refused: close 1009."""
    rate_burst: float = 30
    """Messages a connection may send at once before the rate applies."""
    rate_per_second: float = 15
    """Sustained messages per second per connection."""
    max_rate_violations: int = 20
    """Consecutive over-limit messages before the connection is closed with 1008."""
    auth_timeout: float = 10.0
    """Seconds a new connection has to authenticate (then close 1008)."""
    max_auth_failures: int = 3
    """Rejected tokens before the connection is closed with 1008."""
    outbox_size: int = 512
    """Frames queued for one connection before it counts as too slow (close 1013)."""
    max_replay: int = 10_000
    """The most events replayed on one authenticate; a client further behind re-syncs."""
    close_timeout: float = 2.0
    """Seconds to flush queued frames and close when a connection ends."""


class _Pump:
    """One connection's I/O: its socket, its session, and the bounded outbox one task writes."""

    def __init__(self, ws: Socket, config: AdapterConfig) -> None:
        self.ws = ws
        self.session = Session(
            max_auth_failures=config.max_auth_failures, max_replay=config.max_replay
        )
        self.outbox: asyncio.Queue[str | tuple[int, str] | None] = asyncio.Queue(config.outbox_size)
        self.too_slow = False
        self.closer: asyncio.Future[None] | None = None
        self.writer: asyncio.Task[None] | None = None

    def send(self, frame: str) -> None:
        """Queue a frame; a full outbox marks the connection too slow and closes it."""
        if self.too_slow:
            return
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            self.too_slow = True
            self.session.close(CloseCode.TRY_AGAIN_LATER, "too far behind")
            logger.info("closing a connection that fell too far behind")
            self.closer = asyncio.ensure_future(
                self.ws.close(CloseCode.TRY_AGAIN_LATER, "too far behind")
            )

    async def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued went out (the writer sends the close frame)."""
        try:
            self.outbox.put_nowait((code, reason))
        except asyncio.QueueFull:
            await self.ws.close(code, reason)

    def page_limit(self, limit: int) -> int:
        """How many stored events to read now so that pushing them cannot overflow the outbox."""
        return max(1, min(limit, self.outbox.maxsize // 2))

    async def paced(self) -> bool:
        """Wait for the writer when the outbox is half full; False if the connection ended."""
        if self.outbox.qsize() * 2 < self.outbox.maxsize:
            return True
        return await self.drained()

    async def drained(self) -> bool:
        """Wait until every queued frame was written; False if the connection ended first."""
        if self.writer is None or self.writer.done():
            return False
        join = asyncio.ensure_future(self.outbox.join())
        done, _ = await asyncio.wait({join, self.writer}, return_when=asyncio.FIRST_COMPLETED)
        if join not in done:
            join.cancel()
            return False
        return True

    async def write_loop(self) -> None:
        """Send queued frames in order until the sentinel, a close request or a closed socket."""
        while True:
            frame = await self.outbox.get()
            try:
                if frame is None:
                    return
                if isinstance(frame, tuple):
                    await self.ws.close(*frame)
                    return
                await self.ws.send(frame)
            finally:
                self.outbox.task_done()


class WebsocketAdapter:
    """Serves protocol v1 to game clients on top of a ``ShopBackend``, pushing bus events."""

    def __init__(
        self,
        backend: ShopBackend,
        authenticator: Authenticator,
        *,
        bus: EventBus | None = None,
        config: AdapterConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.authenticator = authenticator
        self.bus = bus
        self.config = config or AdapterConfig()
        self._clock = clock
        self._players: dict[str, set[_Pump]] = {}
        self._subscription: Subscription | None = None

    async def __aenter__(self) -> WebsocketAdapter:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Subscribe to the bus (if any) so pushes reach connected players."""
        if self.bus is not None and self._subscription is None:
            # the players connected here: a PostgreSQL bus re-reads no other player's events
            wanted = self._players.__contains__
            self._subscription = self.bus.subscribe(self._on_event, players=wanted)
            add = getattr(self.bus, "add_reconnect_handler", None)
            if add is not None:
                add(self.resync)

    def stop(self) -> None:
        """Stop receiving bus events."""
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    @property
    def connection_count(self) -> int:
        """Authenticated connections right now."""
        return sum(len(pumps) for pumps in self._players.values())

    def connections_of(self, player_id: str) -> int:
        """Authenticated connections of one player right now."""
        return len(self._players.get(player_id, ()))

    @asynccontextmanager
    async def serve(
        self, host: str = "127.0.0.1", port: int = 0, **kwargs: Any
    ) -> AsyncIterator[Server]:
        """Run a standalone websockets server for this adapter (``port=0`` picks a free port)."""
        options: dict[str, Any] = {
            "max_size": self.config.max_message_bytes,
            "compression": None,
            "max_queue": 32,
        }
        options.update(kwargs)
        self.start()
        async with serve(self.handler, host, port, **options) as server:
            yield server

    async def _on_event(self, event: Event) -> None:
        for pump in list(self._players.get(event.player_id, ())):
            await self._perform(pump, pump.session.event_arrived(event))

    async def resync(self) -> None:
        """Re-read every connected player's events after what each was sent (after a bus drop)."""
        for pumps in list(self._players.values()):
            for pump in list(pumps):
                await self._perform(pump, pump.session.resync())

    async def handler(self, ws: Socket) -> None:
        """Serve one connection until it closes (mount this in the game's own server)."""
        pump = _Pump(ws, self.config)
        writer = pump.writer = asyncio.create_task(pump.write_loop())
        try:
            await self._read_loop(pump)
        except _CLOSED:
            pass
        finally:
            self._unregister(pump)
            if not writer.done():
                with contextlib.suppress(asyncio.QueueFull):
                    pump.outbox.put_nowait(None)
                try:
                    await asyncio.wait_for(writer, timeout=self.config.close_timeout)
                except (TimeoutError, *_CLOSED):
                    writer.cancel()
                    with contextlib.suppress(asyncio.CancelledError, *_CLOSED):
                        await writer
            elif not writer.cancelled():
                with contextlib.suppress(*_CLOSED):
                    writer.result()

    async def _read_loop(self, pump: _Pump) -> None:
        """Feed frames to the session one at a time until it closes (or the socket does)."""
        config = self.config
        session = pump.session
        bucket = TokenBucket(config.rate_burst, config.rate_per_second, self._clock())
        violations = 0
        deadline = self._clock() + config.auth_timeout
        while session.state is not SessionState.CLOSING:
            if session.player_id is None:
                try:
                    raw = await asyncio.wait_for(pump.ws.recv(), max(0.0, deadline - self._clock()))
                except TimeoutError:
                    await self._perform(pump, session.auth_timed_out())
                    continue
            else:
                raw = await pump.ws.recv()
            if _too_big(raw, config.max_message_bytes):
                closing = session.close(CloseCode.MESSAGE_TOO_BIG, "message too big")
                await self._perform(pump, closing)
                continue
            if not bucket.take(self._clock()):
                violations += 1
                if violations > config.max_rate_violations:
                    closing = session.close(CloseCode.POLICY_VIOLATION, "rate limit exceeded")
                    await self._perform(pump, closing)
                    continue
                refused = RateLimited("slow down: rate limit exceeded")
                pump.send(error_reply(peek_raw_id(raw), refused))
                continue
            violations = 0
            await self._perform(pump, session.receive(raw))

    async def _perform(self, pump: _Pump, actions: Iterable[Action]) -> None:
        """Do what the session asked, in order, feeding it each outcome (which may ask more)."""
        session = pump.session
        todo = deque(actions)
        while todo:
            action = todo.popleft()
            match action:
                case Send(frame):
                    pump.send(frame)
                case Close(code, reason):
                    await pump.close(code, reason)
                case Join(player_id):
                    self._players.setdefault(player_id, set()).add(pump)
                case CheckToken(token):
                    todo.extend(await self._check_token(session, token))
                case RunRequest(player_id, message):
                    reply = await answer(self.backend, player_id, message)
                    todo.extend(session.request_finished(reply))
                case FetchEvents(player_id, after, limit):
                    if not await pump.paced():
                        return  # the connection ended during the replay
                    limit = pump.page_limit(limit)
                    events = await self.backend.events_after(player_id, after, limit)
                    todo.extend(session.events_fetched(events, limit))

    async def _check_token(self, session: Session, token: str) -> list[Action]:
        try:
            player_id = await self.authenticator.authenticate(token)
        except TokenRejected as exc:
            return session.token_rejected(exc)
        except Exception:
            logger.exception("authenticator failed")
            return session.token_rejected(TokenRejected("token could not be verified"))
        return session.token_accepted(player_id)

    def _unregister(self, pump: _Pump) -> None:
        player_id = pump.session.player_id
        if player_id is None:
            return
        pumps = self._players.get(player_id)
        if pumps is not None:
            pumps.discard(pump)
            if not pumps:
                del self._players[player_id]


def _too_big(raw: str | bytes, limit: int) -> bool:
    """Whether the frame's UTF-8 size exceeds ``limit`` (encoding only when it could)."""
    if isinstance(raw, bytes) or len(raw) * 4 <= limit:
        return len(raw) > limit
    return len(raw.encode("utf-8", "surrogatepass")) > limit
