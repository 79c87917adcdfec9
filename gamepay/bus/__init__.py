"""Event buses: fan committed events out to subscribers, in one process or across replicas.

``InProcessBus`` serves one process (SQLite, tests, a single game server). ``PostgresBus``
carries a small notice (event id + player id) through PostgreSQL ``LISTEN/NOTIFY`` on a
dedicated connection; every replica's listener re-reads the full event from the events outbox
(through an :class:`EventSource`), so a callback handled by replica A reaches a player connected
to replica B. ``gamepay.bus.jetstream.NatsBus`` (the ``gamepay[nats]`` extra) carries whole
events through a NATS JetStream stream, de-duplicated by event id, with a relay that publishes
from the outbox whatever the stream missed. ``open_bus`` picks one from a URL. All implement
:class:`gamepay.core.events.EventPublisher` and :class:`EventBus`.

Fan-out can drop a notice (nobody listening at that instant, a reconnect): the events are
persisted, so adapters replay by id after a reconnect; a bus only makes delivery prompt.
"""

from gamepay.bus.base import EventBus, EventHandler, EventSource, Subscription
from gamepay.bus.factory import ManagedBus, open_bus
from gamepay.bus.memory import InProcessBus
from gamepay.bus.postgres import PostgresBus

__all__ = [
    "EventBus",
    "EventHandler",
    "EventSource",
    "InProcessBus",
    "ManagedBus",
    "PostgresBus",
    "Subscription",
    "open_bus",
]
