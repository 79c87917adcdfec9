"""A NATS JetStream bus: committed events cross replicas through a de-duplicating stream.

The events outbox (``gp_events``) stays the source of truth; JetStream only makes delivery
prompt. Three parts, all in each replica:

- **publish** (the fast path): delivers to this process's subscribers at once, then hands each
  event to a background publisher that sends it to the stream with ``Nats-Msg-Id: <epoch>:<event
  id>``, so the stream stores each event once however many times it is sent (within the stream's
  duplicate window). The epoch is drawn once per database (``gp_event_relay.epoch``): a recreated
  database's ids never pass for duplicates of an older one's, and messages of another database
  on the same subject are ignored. ``publish`` never waits for NATS and never raises.
- **the subscription**: an ordered push consumer on the stream, starting at the newest message;
  each event received is delivered to this process's subscribers, unless already delivered here
  (a bounded window of recent ids), so a subscriber sees each event once.
- **the relay**: reads the outbox in id order and publishes every committed event the stream has
  not carried within ``settle`` seconds (its publisher crashed after the commit, NATS was
  unreachable, ...). It keeps its position durably in ``gp_event_relay``: every id at or below
  it is on the stream, or was a gap (a rolled-back id, or a transaction still open after
  ``gap_grace`` seconds; such an event still reaches its player by replay); the bookkeeping is
  :class:`gamepay.bus.relay.RelayCursor`. Every replica runs one; they may relay the same event
  at once, the message id makes that harmless.

If NATS is unreachable, local delivery goes on, publishing is skipped, and once NATS answers
again the relay catches up from its position and the reconnect handlers run (the websocket
adapter re-reads each connected player's events from the outbox): nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Sequence
from typing import Any

import nats
from nats.js.api import DeliverPolicy, StorageType
from nats.js.errors import NotFoundError
from sqlalchemy.exc import IntegrityError

from gamepay.bus.base import EventHandler, PlayerFilter, Subscription
from gamepay.bus.fanout import Fanout, ReconnectHandler
from gamepay.bus.outbox import (
    advance_relay,
    event_from_json,
    event_ids_since,
    event_to_json,
    events_with_ids,
    relay_position,
)
from gamepay.bus.relay import RelayCursor
from gamepay.core.events import Event
from gamepay.eventloop import stop_tasks
from gamepay.store import Store

__all__ = ["DEFAULT_STREAM", "DEFAULT_SUBJECT", "NatsBus"]

logger = logging.getLogger("gamepay.bus.nats")

DEFAULT_STREAM = "GAMEPAY_EVENTS"
"""The JetStream stream every replica of one deployment shares."""
DEFAULT_SUBJECT = "gamepay.events"
"""The subject events are published on."""

_PAGE = 500
_PAGES_PER_ROUND = 20
_MSG_ID = "Nats-Msg-Id"
_EPOCH = "Gamepay-Outbox"


class NatsBus:
    """Fan committed events out across replicas through NATS JetStream, relayed from the outbox.

    ``store`` is the database holding the outbox (the relay reads it). Call ``await start()``
    before use and ``await close()`` at the end (or use ``async with``). ``relay=False`` runs no
    relay in this process (then another replica's must). The URL may hold credentials; it is
    never shown.
    """

    def __init__(
        self,
        url: str,
        store: Store,
        *,
        stream: str = DEFAULT_STREAM,
        subject: str = DEFAULT_SUBJECT,
        relay: bool = True,
        relay_name: str = "nats",
        settle: float = 1.0,
        poll_interval: float = 0.2,
        gap_grace: float = 30.0,
        duplicate_window: float = 120.0,
        max_age: float = 3600.0,
        seen_window: int = 100_000,
        reconnect_delay: float = 0.5,
        timeout: float = 2.0,
    ) -> None:
        self._url = url
        self._store = store
        self._stream = stream
        self._subject = subject
        self._relay_on = relay
        self._relay_name = relay_name
        self._settle = settle
        self._gap_grace = gap_grace
        self._poll = poll_interval
        self._duplicate_window = duplicate_window
        self._max_age = max_age
        self._reconnect_delay = reconnect_delay
        self._timeout = timeout
        self._fanout = Fanout(logger)
        self._seen: set[int] = set()
        self._seen_order: deque[int] = deque()
        self._seen_window = seen_window
        self._outgoing: asyncio.Queue[Event] = asyncio.Queue()
        self._nc: Any = None
        self._js: Any = None
        self._sub: Any = None
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._moving: asyncio.Future[None] | None = None
        self._closed = False
        self._late = False
        self._epoch = ""
        self._cursor = RelayCursor(0, settle=settle, gap_grace=gap_grace)
        self.relayed = 0
        """How many events this process's relay published itself (diagnostics, tests)."""

    def __repr__(self) -> str:
        return f"NatsBus(stream={self._stream!r})"  # never the URL: it may hold a password

    @property
    def stream(self) -> str:
        """The JetStream stream's name."""
        return self._stream

    @property
    def subject(self) -> str:
        """The subject events are published on."""
        return self._subject

    async def __aenter__(self) -> NatsBus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        """Whether NATS answers right now (the stream and the subscription are in place)."""
        return self._ready.is_set() and self._nc is not None and bool(self._nc.is_connected)

    @property
    def relay_position(self) -> int:
        """Every event id at or below this is on the stream (or was given up as a gap)."""
        return self._cursor.position

    async def start(self) -> None:
        """Read the relay position, start the workers, connect (waiting up to ``timeout``
        seconds; past that the bus keeps connecting in the background and works locally)."""
        position, self._epoch = await self._load_position()
        self._cursor = RelayCursor(position, settle=self._settle, gap_grace=self._gap_grace)
        self._spawn(self._keep_connecting(), "gamepay-nats-connect")
        self._spawn(self._publisher(), "gamepay-nats-publisher")
        if self._relay_on:
            self._spawn(self._relay_loop(), "gamepay-nats-relay")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout=self._timeout)
        except TimeoutError:
            self._late = True
            logger.warning("NATS unreachable at start; connecting in the background")

    async def close(self) -> None:
        """Stop the workers, unsubscribe and close the NATS connection (idempotent)."""
        self._closed = True
        await self.stop_relay()
        await stop_tasks(self._tasks)
        nc, self._nc = self._nc, None
        self._ready.clear()
        if nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), timeout=self._timeout)

    async def stop_relay(self) -> None:
        """Stop this process's relay (another replica's carries on); publishing goes on."""
        self._relay_on = False
        for task in [t for t in self._tasks if t.get_name() == "gamepay-nats-relay"]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._tasks.remove(task)
        moving, self._moving = self._moving, None
        if moving is not None:
            with contextlib.suppress(Exception):
                await moving  # its failure was the relay round's; the next relay retries

    def subscribe(
        self, handler: EventHandler, *, players: PlayerFilter | None = None
    ) -> Subscription:
        """Call ``handler`` for every event published on any replica from now on."""
        return self._fanout.subscribe(handler, players=players)

    def add_reconnect_handler(self, handler: ReconnectHandler) -> None:
        """Call ``handler`` after NATS came back from a drop (events may have been missed)."""
        self._fanout.add_reconnect_handler(handler)

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver committed events here, then queue them for the stream; never raises."""
        for event in events:
            if self._first_time(event.id):
                await self._fanout.deliver(event)
            self._outgoing.put_nowait(event)

    # --- delivery ---------------------------------------------------------------------------

    def _first_time(self, event_id: int) -> bool:
        """Record ``event_id`` as delivered here; False if it already was (recently)."""
        if event_id in self._seen:
            return False
        self._seen.add(event_id)
        self._seen_order.append(event_id)
        if len(self._seen_order) > self._seen_window:
            self._seen.discard(self._seen_order.popleft())
        return True

    async def _on_msg(self, msg: Any) -> None:
        if (msg.headers or {}).get(_EPOCH) != self._epoch:
            logger.debug("ignoring a message of another outbox on %s", self._subject)
            return
        event = event_from_json(msg.data)
        if event is None:
            logger.warning("ignoring a malformed message on %s", self._subject)
            return
        if self._relay_on:
            self._cursor.carried(event.id)
        if self._first_time(event.id):
            await self._fanout.deliver(event)

    # --- connection -------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))  # type: ignore[arg-type]

    async def _connect(self) -> None:
        nc = await nats.connect(
            self._url,
            connect_timeout=max(1, round(self._timeout)),
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=self._reconnect_delay,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        try:
            js = nc.jetstream(timeout=self._timeout)
            try:
                await js.stream_info(self._stream)
            except NotFoundError:
                await js.add_stream(
                    name=self._stream,
                    subjects=[self._subject],
                    storage=StorageType.FILE,
                    duplicate_window=self._duplicate_window,
                    max_age=self._max_age,
                )
            self._sub = await js.subscribe(
                self._subject,
                stream=self._stream,
                cb=self._on_msg,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.NEW,
                idle_heartbeat=1.0,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await nc.close()
            raise
        self._nc, self._js = nc, js
        self._ready.set()

    async def _keep_connecting(self) -> None:
        while not self._closed:
            try:
                await self._connect()  # the client itself retries an unreachable server
            except Exception as exc:
                logger.warning("NATS stream setup failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(self._reconnect_delay)
                continue
            if self._late:
                logger.info("NATS reachable; the relay catches up")
                await self._fanout.reconnected()
            return

    async def _on_error(self, exc: Exception) -> None:
        logger.debug("NATS client error: %s", type(exc).__name__)

    async def _on_disconnected(self) -> None:
        if not self._closed:
            logger.warning("NATS connection lost; reconnecting (the relay will catch up)")

    async def _on_reconnected(self) -> None:
        logger.info("NATS connection back")
        await self._fanout.reconnected()

    # --- fast path --------------------------------------------------------------------------

    async def _send(self, event: Event) -> bool:
        """Publish one event to the stream; True once the stream has it (new or duplicate)."""
        js = self._js
        if js is None or not self.connected:
            return False
        try:
            await js.publish(
                self._subject,
                event_to_json(event),
                stream=self._stream,
                headers={_MSG_ID: f"{self._epoch}:{event.id}", _EPOCH: self._epoch},
            )
        except Exception as exc:
            logger.debug("could not publish event %s: %s", event.id, type(exc).__name__)
            return False
        return True

    async def _publisher(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while not self._outgoing.empty() and len(batch) < _PAGE:
                batch.append(self._outgoing.get_nowait())
            if not self.connected:
                continue  # the relay publishes them once NATS answers
            await asyncio.gather(*(self._send(event) for event in batch))

    # --- relay ------------------------------------------------------------------------------

    async def _load_position(self) -> tuple[int, str]:
        async def load(conn: Any) -> tuple[int, str]:
            return await relay_position(conn, self._relay_name)

        try:
            return await self._store.run(load)
        except IntegrityError:  # another replica created the row at the same moment
            return await self._store.run(load)

    async def _relay_loop(self) -> None:
        while True:
            try:
                await self.relay_once()
            except Exception:
                logger.exception("relaying the outbox failed; trying again")
            await asyncio.sleep(self._poll)

    async def relay_once(self) -> int:
        """One relay round: read new outbox rows, publish the late ones, move the position.

        Returns how many events it published itself. Publishes nothing while NATS is down.
        """
        if not self.connected:
            return 0
        loop = asyncio.get_running_loop()
        cursor = self._cursor
        for _ in range(_PAGES_PER_ROUND):
            after = cursor.scan

            async def read(conn: Any, after: int = after) -> list[int]:
                return await event_ids_since(conn, after, _PAGE)

            ids = await self._store.read(read)
            cursor.scanned(ids, loop.time())
            if len(ids) < _PAGE:
                break
        if cursor.gaps:
            gaps = cursor.gaps

            async def late(conn: Any) -> list[Event]:
                return await events_with_ids(conn, gaps)

            cursor.appeared([e.id for e in await self._store.read(late)], loop.time())
        published = await self._publish_due(cursor.due(loop.time()))
        target = cursor.target(loop.time())
        if target > cursor.position:
            # Stored and remembered together: a stop_relay() in between must not leave the
            # position in memory behind the stored one (stop_relay waits for this move).
            self._moving = asyncio.ensure_future(self._move(target))
            await asyncio.shield(self._moving)
        return published

    async def _move(self, target: int) -> None:
        """Store the relay position ``target``, then move the cursor to it."""

        async def move(conn: Any) -> None:
            await advance_relay(conn, self._relay_name, target)

        await self._store.run(move)
        self._cursor.moved(target)

    async def _publish_due(self, due_ids: list[int]) -> int:
        published = 0
        for start in range(0, len(due_ids), _PAGE):
            wanted = due_ids[start : start + _PAGE]

            async def load(conn: Any, wanted: list[int] = wanted) -> list[Event]:
                return await events_with_ids(conn, wanted)

            chunk = await self._store.read(load)
            results = await asyncio.gather(*(self._send(event) for event in chunk))
            for event, ok in zip(chunk, results, strict=True):
                if ok:
                    self._cursor.published(event.id)
                    published += 1
            if not all(results):
                break
        if published:
            logger.info("relayed %d event(s) the stream had not carried", published)
            self.relayed += published
        return published
