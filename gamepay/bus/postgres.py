"""A PostgreSQL LISTEN/NOTIFY bus: events cross replicas as small notices, re-read from the outbox.

Each bus holds one dedicated asyncpg connection (never a pooled one: LISTEN is connection
state). ``publish`` delivers to this process's subscribers at once and then notifies the other
replicas, batched: the events of every ``publish`` waiting meanwhile go out together in one
autocommit statement, one ``NOTIFY`` per up to ~7900 bytes of ``{"e": [[<event id>,
"<player>"], ...]}`` (PostgreSQL caps payloads at 8000 bytes, so the event itself never
travels). So there is at most one notifying commit per flush, never one per event: PostgreSQL
takes a global lock at the commit of every transaction that issued ``NOTIFY``, and that lock
would otherwise serialize every replica's pushes. Every other replica's listener groups the
notices it receives by player, re-reads those events through its :class:`EventSource` (the
services' events outbox) and delivers them, for the players one of its subscribers wants (every
player, unless each subscriber passed a ``players`` filter: the websocket adapter wants the
players connected to it); a replica ignores the notices it sent itself.

If the connection drops, the bus reconnects with backoff, sends the notices it could not send
meanwhile, and calls its reconnect handlers, so subscribers can re-read what they may have missed
(notices sent while nobody listened are lost by PostgreSQL's design; the events themselves are
not). Nothing relays an event whose publisher died between its commit and its ``publish``: its
player gets it on the next reconnect (replay); the NATS bus relays those too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gamepay.bus.base import EventHandler, EventSource, PlayerFilter, Subscription
from gamepay.bus.fanout import Fanout, ReconnectHandler
from gamepay.core.events import Event
from gamepay.errors import ConfigError
from gamepay.eventloop import stop_tasks

__all__ = ["DEFAULT_CHANNEL", "PostgresBus", "notice_payloads", "parse_notice"]

logger = logging.getLogger("gamepay.bus.postgres")

DEFAULT_CHANNEL = "gamepay_events"
"""The NOTIFY channel every replica of one deployment shares."""

_MAX_PAYLOAD = 7900
_READ_BATCH = 200
_MAX_HELD = 100_000


def _notice_item(event_id: object, player_id: object) -> tuple[str, int] | None:
    if type(event_id) is not int or event_id < 1 or not isinstance(player_id, str):
        return None
    return player_id, event_id


def parse_notice(payload: str) -> list[tuple[str, int]] | None:
    """Return the ``(player_id, event_id)`` pairs of a notice payload, or None if malformed.

    A notice is ``{"e": [[id, "player"], ...]}``; the single-event form of earlier versions,
    ``{"id": id, "player_id": "player"}``, is still understood (a rolling upgrade).
    """
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if "e" not in data:
        single = _notice_item(data.get("id"), data.get("player_id"))
        return None if single is None else [single]
    items = data["e"]
    if not isinstance(items, list) or not items:
        return None
    found = []
    for item in items:
        if not isinstance(item, list) or len(item) != 2:
            return None
        pair = _notice_item(item[0], item[1])
        if pair is None:
            return None
        found.append(pair)
    return found


def notice_payloads(events: Sequence[tuple[int, str]], limit: int = 7900) -> list[str]:
    """Pack ``(event_id, player_id)`` pairs into as few notice payloads of at most ``limit``
    bytes as fit; a pair too long to fit on its own is left out (and logged)."""
    payloads: list[str] = []
    items: list[str] = []
    size = len('{"e":[]}')
    for event_id, player_id in events:
        item = json.dumps([event_id, player_id], separators=(",", ":"))
        if len(item.encode()) + len('{"e":[]}') > limit:
            logger.warning("event %s not notified: player id too long", event_id)
            continue
        if items and size + 1 + len(item.encode()) > limit:
            payloads.append('{"e":[' + ",".join(items) + "]}")
            items, size = [], len('{"e":[]}')
        size += len(item.encode()) + (1 if items else 0)
        items.append(item)
    if items:
        payloads.append('{"e":[' + ",".join(items) + "]}")
    return payloads


def _asyncpg_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise ConfigError("PostgresBus needs a postgresql:// URL")
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


class PostgresBus:
    """Fan events out across processes through PostgreSQL LISTEN/NOTIFY.

    Call ``await start()`` before use and ``await close()`` at the end (or use ``async with``).
    ``source`` is where a listener re-reads an event it was notified of.
    """

    def __init__(
        self,
        url: str,
        source: EventSource,
        *,
        channel: str = DEFAULT_CHANNEL,
        reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 10.0,
    ) -> None:
        self._url = _asyncpg_url(url)
        self._source = source
        self._channel = channel
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._fanout = Fanout(logger)
        self._conn: Any = None
        self._pid: int | None = None
        self._lock = asyncio.Lock()
        self._unsent: list[tuple[int, str]] = []
        self.notify_commits = 0
        """How many notifying statements this bus has committed (diagnostics, tests)."""
        self._notices: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._connected = asyncio.Event()

    def __repr__(self) -> str:
        return f"PostgresBus(channel={self._channel!r})"  # never the URL: it may hold a password

    async def __aenter__(self) -> PostgresBus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        """Whether the listening connection is up right now."""
        return self._connected.is_set()

    @property
    def backend_pid(self) -> int | None:
        """The PostgreSQL backend pid of the listening connection (for diagnostics)."""
        return self._pid

    async def start(self) -> None:
        """Open the dedicated connection, LISTEN, and start the delivery worker."""
        await self._connect()
        self._tasks.append(asyncio.create_task(self._worker(), name="gamepay-bus-worker"))

    async def close(self) -> None:
        """Stop listening, close the connection and the worker (idempotent)."""
        self._closed = True
        await stop_tasks(self._tasks)
        conn, self._conn = self._conn, None
        self._connected.clear()
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    def subscribe(
        self, handler: EventHandler, *, players: PlayerFilter | None = None
    ) -> Subscription:
        """Call ``handler`` for every event published on any replica from now on."""
        return self._fanout.subscribe(handler, players=players)

    def add_reconnect_handler(self, handler: ReconnectHandler) -> None:
        """Call ``handler`` after the listening connection came back from a drop."""
        self._fanout.add_reconnect_handler(handler)

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver committed events here, then notify the other replicas; never raises.

        Returns once the notice is sent: in this call's own statement, or in the one of a
        concurrent ``publish`` that took these events along (one notifying commit for both).
        """
        for event in events:
            await self._fanout.deliver(event)
        if not events:
            return
        self._unsent.extend((event.id, event.player_id) for event in events)
        await self._flush()

    async def _flush(self) -> None:
        """Send every waiting notice in one statement; if that fails, keep them (up to
        ``_MAX_HELD``) for after the reconnect."""
        async with self._lock:
            batch, self._unsent = self._unsent, []
            payloads = notice_payloads(batch, _MAX_PAYLOAD)
            if not payloads:
                return  # a concurrent publish already sent ours
            try:
                if self._conn is None:
                    raise ConnectionError("bus is not connected")
                await self._conn.execute(
                    "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
                    self._channel,
                    payloads,
                )
                self.notify_commits += 1
            except Exception as exc:
                # The events are committed; the notices go out once the connection is back.
                self._unsent[:0] = batch[-_MAX_HELD:]
                logger.warning(
                    "could not notify %d event(s) (%s); retrying after the reconnect",
                    len(batch),
                    type(exc).__name__,
                )

    async def _connect(self) -> None:
        import asyncpg  # the postgres extra; not needed to import gamepay

        conn = await asyncpg.connect(self._url)
        try:
            await conn.add_listener(self._channel, self._on_notify)
            conn.add_termination_listener(self._on_terminated)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self._pid = conn.get_server_pid()
        self._connected.set()

    def _on_notify(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if pid == self._pid:
            return  # our own publish, already delivered locally
        notices = parse_notice(payload)
        if notices is None:
            logger.warning("ignoring a malformed notice on %s", channel)
            return
        for notice in notices:
            self._notices.put_nowait(notice)

    def _on_terminated(self, conn: object) -> None:
        if self._closed or conn is not self._conn:
            return
        logger.warning("bus connection lost; reconnecting")
        self._conn = None
        self._connected.clear()
        self._tasks.append(asyncio.create_task(self._reconnect(), name="gamepay-bus-reconnect"))

    async def _reconnect(self) -> None:
        delay = self._reconnect_delay
        while not self._closed:
            try:
                await self._connect()
            except Exception as exc:
                logger.warning("bus reconnect failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_reconnect_delay)
                continue
            await self._flush()
            await self._fanout.reconnected()
            return

    async def _worker(self) -> None:
        while True:
            first = await self._notices.get()
            batch = [first]
            while not self._notices.empty() and len(batch) < _READ_BATCH:
                batch.append(self._notices.get_nowait())
            by_player: dict[str, set[int]] = {}
            for player_id, event_id in batch:
                by_player.setdefault(player_id, set()).add(event_id)
            for player_id, ids in by_player.items():
                if self._fanout.wants(player_id):  # nobody here wants the others: no read
                    await self._reread(player_id, ids)

    async def _reread(self, player_id: str, ids: set[int]) -> None:
        wanted = set(ids)
        last = min(wanted) - 1
        top = max(wanted)
        try:
            while wanted and last < top:
                events = await self._source.events_after(player_id, last, _READ_BATCH)
                if not events:
                    break
                for event in events:
                    if event.id in wanted:
                        wanted.discard(event.id)
                        await self._fanout.deliver(event)
                last = events[-1].id
        except Exception:
            logger.exception("could not re-read %d event(s) of a player", len(ids))
            return
        if wanted:
            logger.warning("%d notified event(s) not found in the outbox", len(wanted))
