"""Pick the bus of a deployment from one URL: ``open_bus``.

No URL: ``LISTEN/NOTIFY`` on the PostgreSQL database itself, an in-process bus on SQLite (one
process). ``nats://host:4222`` (or ``tls://``): NATS JetStream, relayed from the outbox of
``store`` (needs the ``gamepay[nats]`` extra); ``?stream=NAME&subject=SUBJECT`` names the stream
and its subject (each deployment sharing a NATS server needs its own). ``postgresql://...``:
``LISTEN/NOTIFY`` on that (other) PostgreSQL server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

from gamepay.bus.base import EventHandler, EventSource, PlayerFilter, Subscription
from gamepay.bus.memory import InProcessBus
from gamepay.bus.postgres import PostgresBus
from gamepay.core.events import Event
from gamepay.errors import ConfigError
from gamepay.store import Store

__all__ = ["BUS_SCHEMES", "ManagedBus", "open_bus"]

BUS_SCHEMES = ("nats", "tls", "postgresql", "postgres")
"""The URL schemes ``open_bus`` understands."""


class ManagedBus(Protocol):
    """An event bus with a lifetime: ``start()`` before use, ``close()`` at the end."""

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver events that are already committed; never raises for absent listeners."""
        ...

    def subscribe(
        self, handler: EventHandler, *, players: PlayerFilter | None = None
    ) -> Subscription:
        """Call ``handler`` for every event published from now on, until the handle is closed;
        with ``players``, events of other replicas for players it refuses may be left out."""
        ...

    async def start(self) -> None:
        """Connect and start the bus's workers."""
        ...

    async def close(self) -> None:
        """Stop and disconnect (idempotent)."""
        ...


def open_bus(
    store: Store, source: EventSource, *, database_url: str, bus_url: str | None = None
) -> ManagedBus:
    """The bus for ``bus_url`` (see the module docstring), not started yet.

    ``store`` holds the events outbox (the NATS relay reads it), ``source`` is where a
    PostgreSQL listener re-reads notified events, ``database_url`` is the store's URL.
    """
    if not bus_url:
        if store.dialect == "postgresql":
            return PostgresBus(database_url, source)
        return InProcessBus()
    parts = urlsplit(bus_url)
    if parts.scheme in ("nats", "tls"):
        try:
            from gamepay.bus.jetstream import DEFAULT_STREAM, DEFAULT_SUBJECT, NatsBus
        except ImportError:
            missing = "a nats:// bus needs the NATS client: pip install 'gamepay[nats]'"
            raise ConfigError(missing) from None
        query = parse_qs(parts.query)
        if set(query) - {"stream", "subject"}:
            raise ConfigError("a nats:// bus URL takes only ?stream=...&subject=...")
        server = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        stream = query.get("stream", [DEFAULT_STREAM])[-1]
        subject = query.get("subject", [DEFAULT_SUBJECT])[-1]
        return NatsBus(server, store, stream=stream, subject=subject)
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresBus(bus_url, source)
    raise ConfigError("the bus URL must be nats://, tls:// or postgresql://")
