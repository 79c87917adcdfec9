"""The websocket adapter: one connection handler, a per-player hub, pushes from an event bus.

Standalone::

    adapter = WebsocketAdapter(backend, HmacTokenAuthenticator(secret), bus=bus)
    async with adapter:                                 # subscribes to the bus
        async with adapter.serve("0.0.0.0", 8765) as server:
            await server.serve_forever()

Mounted in the game's own ``websockets`` server: ``await adapter.handler(connection)`` from the
game's handler (e.g. for the path ``/gamepay``); set ``max_size`` on that server as well (the
adapter also closes with 1009 on a message above ``AdapterConfig.max_message_bytes``).

Per connection: nothing but ``authenticate`` works until it succeeded; messages are handled one
at a time in order; a token bucket limits the rate (an over-limit message gets a
``rate_limited`` error; a connection that keeps flooding is closed with 1008). Every outgoing
frame goes through a bounded per-connection queue written by one task, so a slow client never
blocks pushes to others (it is closed with 1013 when it falls too far behind, and replays on
reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from gamepay.bus.base import EventBus, Subscription
from gamepay.core.events import Event
from gamepay.errors import (
    AlreadyAuthenticated,
    GamepayError,
    NotAuthenticated,
    RateLimited,
    TokenRejected,
)
from gamepay_ws.auth import Authenticator
from gamepay_ws.port import ShopBackend
from gamepay_ws.protocol import (
    PROTOCOL_VERSION,
    Authenticate,
    BalanceRequest,
    BuyWithBalance,
    BuyWithCrypto,
    CatalogRequest,
    ClientMessage,
    EventPush,
    HistoryEntry,
    HistoryRequest,
    Ping,
    TopUp,
    Withdraw,
    error_reply,
    parse_message,
    peek_raw_id,
)
from gamepay_ws.ratelimit import TokenBucket

__all__ = ["AdapterConfig", "WebsocketAdapter", "event_push"]

logger = logging.getLogger("gamepay.ws")

_REPLAY_PAGE = 200


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


def _push_json(event: Event) -> str:
    created = event.created_at.isoformat() if event.created_at is not None else None
    return EventPush(
        event_id=event.id, event=str(event.type), data=event.payload, created_at=created
    ).model_dump_json()


def event_push(event: Event) -> str:
    """The push frame of one event: ``{"type": "event", "event_id", "event", "data"}``."""
    return _push_json(event)


class _Connection:
    """One client connection: its player, its outbox and which events it has been sent."""

    def __init__(self, ws: ServerConnection, config: AdapterConfig) -> None:
        self.ws = ws
        self.player_id: str | None = None
        self.outbox: asyncio.Queue[str | tuple[int, str] | None] = asyncio.Queue(config.outbox_size)
        self.replaying = False
        self.pending: list[Event] = []
        self.holding = False
        """True while this connection's request runs: its pushes wait until the reply is queued."""
        self.held: list[Event] = []
        self.floor = 0
        self.last_event_id = 0
        self._seen: set[int] = set()
        self._seen_order: deque[int] = deque()
        self.too_slow = False
        self.closer: asyncio.Future[None] | None = None
        self.writer: asyncio.Task[None] | None = None
        self.tracking = False
        """Whether this connection has a position in the player's events (asked for replay)."""

    def send(self, frame: str) -> None:
        """Queue a frame; a full outbox marks the connection too slow and closes it."""
        if self.too_slow:
            return
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            self.too_slow = True
            logger.info("closing a connection that fell too far behind")
            self.closer = asyncio.ensure_future(
                self.ws.close(CloseCode.TRY_AGAIN_LATER, "too far behind")
            )

    def offer(self, event: Event) -> None:
        """Push an event unless already sent or at/below the replay floor."""
        if self.replaying:
            self.pending.append(event)
            return
        if self.holding:
            self.held.append(event)
            return
        if event.id <= self.floor or event.id in self._seen:
            return
        self._seen.add(event.id)
        self._seen_order.append(event.id)
        if len(self._seen_order) > 4096:
            self._seen.discard(self._seen_order.popleft())
        self.last_event_id = max(self.last_event_id, event.id)
        self.send(_push_json(event))

    def hold(self) -> None:
        """Keep pushes back while a request runs (the requester hears its reply first)."""
        self.holding = True

    def release(self) -> None:
        """Push what was kept back, in order, after the reply."""
        self.holding = False
        held, self.held = self.held, []
        for event in held:
            self.offer(event)

    async def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued went out (the writer sends the close frame)."""
        try:
            self.outbox.put_nowait((code, reason))
        except asyncio.QueueFull:
            await self.ws.close(code, reason)

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
        self._players: dict[str, set[_Connection]] = {}
        self._subscription: Subscription | None = None

    async def __aenter__(self) -> WebsocketAdapter:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Subscribe to the bus (if any) so pushes reach connected players."""
        if self.bus is not None and self._subscription is None:
            self._subscription = self.bus.subscribe(self._on_event)
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
        return sum(len(conns) for conns in self._players.values())

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
        for conn in list(self._players.get(event.player_id, ())):
            conn.offer(event)

    async def resync(self) -> None:
        """Re-read every connected player's events after what each was sent (after a bus drop)."""
        for player_id, conns in list(self._players.items()):
            for conn in list(conns):
                if conn.tracking or conn.last_event_id > 0:
                    await self._catch_up(conn, player_id, conn.last_event_id)

    async def handler(self, ws: ServerConnection) -> None:
        """Serve one connection until it closes (mount this in the game's own server)."""
        conn = _Connection(ws, self.config)
        writer = conn.writer = asyncio.create_task(conn.write_loop())
        try:
            await self._serve_connection(conn)
        except ConnectionClosed:
            pass
        finally:
            self._unregister(conn)
            if not writer.done():
                with contextlib.suppress(asyncio.QueueFull):
                    conn.outbox.put_nowait(None)
                try:
                    await asyncio.wait_for(writer, timeout=self.config.close_timeout)
                except (TimeoutError, ConnectionClosed):
                    writer.cancel()
                    with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                        await writer
            elif not writer.cancelled():
                with contextlib.suppress(ConnectionClosed):
                    writer.result()

    async def _serve_connection(self, conn: _Connection) -> None:
        config = self.config
        ws = conn.ws
        bucket = TokenBucket(config.rate_burst, config.rate_per_second, self._clock())
        violations = 0
        auth_failures = 0
        deadline = self._clock() + config.auth_timeout
        while True:
            if conn.player_id is None:
                try:
                    raw = await asyncio.wait_for(ws.recv(), max(0.0, deadline - self._clock()))
                except TimeoutError:
                    await conn.close(CloseCode.POLICY_VIOLATION, "authentication timeout")
                    return
            else:
                raw = await ws.recv()
            if _too_big(raw, config.max_message_bytes):
                await conn.close(CloseCode.MESSAGE_TOO_BIG, "message too big")
                return
            if not bucket.take(self._clock()):
                violations += 1
                if violations > config.max_rate_violations:
                    await conn.close(CloseCode.POLICY_VIOLATION, "rate limit exceeded")
                    return
                refused = RateLimited("slow down: rate limit exceeded")
                conn.send(error_reply(peek_raw_id(raw), refused))
                continue
            violations = 0
            message, request_id, error = parse_message(raw)
            if error is not None or message is None:
                assert error is not None
                conn.send(error_reply(request_id, error))
                continue
            if conn.player_id is None and not isinstance(message, Authenticate):
                conn.send(error_reply(request_id, NotAuthenticated("authenticate first")))
                continue
            if isinstance(message, Authenticate):
                if not await self._authenticate(conn, message):
                    auth_failures += 1
                    if auth_failures >= config.max_auth_failures:
                        await conn.close(CloseCode.POLICY_VIOLATION, "authentication failed")
                        return
                continue
            await self._dispatch(conn, message)

    async def _authenticate(self, conn: _Connection, message: Authenticate) -> bool:
        if conn.player_id is not None:
            conn.send(error_reply(message.id, AlreadyAuthenticated("already authenticated")))
            return True
        try:
            player_id = await self.authenticator.authenticate(message.token)
        except TokenRejected as exc:
            conn.send(error_reply(message.id, exc))
            return False
        except Exception:
            logger.exception("authenticator failed")
            conn.send(error_reply(message.id, TokenRejected("token could not be verified")))
            return False
        conn.player_id = player_id
        conn.floor = message.last_event_id or 0
        conn.last_event_id = conn.floor
        conn.replaying = conn.tracking = message.last_event_id is not None
        self._players.setdefault(player_id, set()).add(conn)
        conn.send(
            _json(
                {
                    "type": "authenticate_result",
                    "id": message.id,
                    "player_id": player_id,
                    "protocol": PROTOCOL_VERSION,
                }
            )
        )
        if message.last_event_id is not None:
            try:
                await self._catch_up(conn, player_id, message.last_event_id, replay=True)
            finally:
                conn.replaying = False
                pending, conn.pending = conn.pending, []
                for event in sorted(pending, key=lambda e: e.id):
                    conn.offer(event)
            conn.send(_json({"type": "replay_complete", "last_event_id": conn.last_event_id}))
        return True

    async def _catch_up(
        self, conn: _Connection, player_id: str, after: int, *, replay: bool = False
    ) -> None:
        last = after
        sent = 0
        while sent < self.config.max_replay:
            events = await self.backend.events_after(player_id, last, _REPLAY_PAGE)
            for event in events:
                if event.player_id != player_id:  # never another player's event
                    continue
                if replay:
                    conn.replaying = False
                    conn.offer(event)
                    conn.replaying = True
                else:
                    conn.offer(event)
                last = max(last, event.id)
                sent += 1
                if conn.outbox.qsize() * 2 >= conn.outbox.maxsize and not await conn.drained():
                    return  # the connection ended during the replay
            if len(events) < _REPLAY_PAGE:
                return

    def _unregister(self, conn: _Connection) -> None:
        if conn.player_id is None:
            return
        conns = self._players.get(conn.player_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._players[conn.player_id]

    async def _dispatch(self, conn: _Connection, message: ClientMessage) -> None:
        conn.hold()
        try:
            conn.send(await self._reply(conn, message))
        finally:
            conn.release()

    async def _reply(self, conn: _Connection, message: ClientMessage) -> str:
        player_id = conn.player_id
        assert player_id is not None
        try:
            result = await self._run(player_id, message)
        except GamepayError as exc:
            return error_reply(message.id, exc)
        except Exception:
            logger.exception("%s failed", message.type)
            return _json(
                {
                    "type": "error",
                    "id": message.id,
                    "code": "internal_error",
                    "message": "the server could not complete the request",
                }
            )
        reply = {"type": f"{message.type}_result", "id": message.id}
        reply.update(result)
        return _json(reply)

    async def _run(self, player_id: str, message: ClientMessage) -> dict[str, Any]:
        backend = self.backend
        if isinstance(message, Ping):
            return {}
        if isinstance(message, CatalogRequest):
            return {"items": _dump(await backend.catalog())}
        if isinstance(message, BalanceRequest):
            return {"balances": _dump(await backend.balances(player_id))}
        if isinstance(message, BuyWithBalance):
            key = _idempotency_key(player_id, message.request_id)
            return await backend.buy_with_balance(player_id, message.sku, key)
        if isinstance(message, BuyWithCrypto):
            key = _idempotency_key(player_id, message.request_id)
            instructions = await backend.buy_with_crypto(player_id, message.sku, key)
            return instructions.model_dump(mode="json")
        if isinstance(message, TopUp):
            key = _idempotency_key(player_id, message.request_id)
            instructions = await backend.top_up(player_id, message.amount, message.currency, key)
            return instructions.model_dump(mode="json")
        if isinstance(message, Withdraw):
            key = _idempotency_key(player_id, message.request_id)
            return await backend.withdraw(
                player_id, message.asset, message.amount, message.address, key
            )
        if isinstance(message, HistoryRequest):
            events = await backend.events_after(player_id, message.after, message.limit)
            entries = [
                HistoryEntry(
                    event_id=e.id,
                    event=str(e.type),
                    data=e.payload,
                    created_at=e.created_at.isoformat() if e.created_at else None,
                )
                for e in events
                if e.player_id == player_id
            ]
            return {
                "entries": _dump(entries),
                "next_after": entries[-1].event_id if entries else message.after,
            }
        raise AssertionError(f"unhandled message type {message.type}")  # pragma: no cover


def _too_big(raw: str | bytes, limit: int) -> bool:
    """Whether the frame's UTF-8 size exceeds ``limit`` (encoding only when it could)."""
    if isinstance(raw, bytes) or len(raw) * 4 <= limit:
        return len(raw) > limit
    return len(raw.encode("utf-8", "surrogatepass")) > limit


def _idempotency_key(player_id: str, request_id: str | None) -> str:
    """Scope a client's request id to its player, or draw a fresh one if it sent none."""
    return f"ws:{player_id}:{request_id or secrets.token_hex(12)}"


def _dump(models: Sequence[BaseModel]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json") for m in models]


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))
