"""``Store``: one database (SQLite file or PostgreSQL), its migrations and its transactions.

``store.run(fn)`` is the way to write: it runs ``fn(conn)`` inside one transaction and retries the
whole of ``fn`` when the database reports a serialization failure, a deadlock or (SQLite) a busy
database, with capped, jittered backoff; ``ConcurrencyError`` when the retries run out. Anything
else ``fn`` raises rolls the transaction back and propagates unchanged.

SQLite: WAL journal, ``synchronous=FULL`` (durable commits), ``foreign_keys=ON``, a busy
timeout, and every write transaction starts with ``BEGIN IMMEDIATE`` so writers serialize instead
of failing on lock upgrades; this process's writers queue and commit in groups
(``gamepay.store.group_commit``), and ``read`` takes a snapshot beside them. The exact
``gp_big_sum`` aggregate (see ``gamepay.store.sql``) is registered on each connection.
PostgreSQL: asyncpg, READ COMMITTED; the ledger locks balance rows in a fixed order.

Three ways to a connection, no more: ``run`` (a write, retried; ``run_single`` for a write that
is one driver statement on PostgreSQL, its own transaction), ``read`` (a snapshot read,
retried) and ``transaction()`` (one unit the caller manages: no retries, for admin commands,
streamed reads with ``read_only=True``, and tests). ``engine`` stays visible for what none of
them covers (an operator's ad-hoc query). The retry rule itself is ``gamepay.store.retries``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Literal, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_

from gamepay.errors import ConfigError, MigrationError, SchemaNotCurrent, StoreError
from gamepay.store.group_commit import SAFETY_CHECKPOINT_PAGES, GroupCommit
from gamepay.store.retries import Retrier
from gamepay.store.rows import SINGLE_OPTION
from gamepay.store.sql import SQLITE_BIG_SUM, BigSumAggregate

__all__ = ["VERSION_TABLE", "Dialect", "SchemaStatus", "Store"]

log = logging.getLogger("gamepay.store")

T = TypeVar("T")
Dialect = Literal["sqlite", "postgresql"]

_MIGRATION_LOCK_KEY = 0x6761_6D65_7061_79  # "gamepay": serializes concurrent migrate() calls

VERSION_TABLE = "gamepay_alembic_version"
"""Alembic's version table (its own name, so it never meets the host game's migrations)."""


@dataclass(frozen=True)
class SchemaStatus:
    """The Alembic revisions a database is at, and the ones this gamepay ships (its heads)."""

    current: tuple[str, ...]
    heads: tuple[str, ...]
    known: frozenset[str]

    @property
    def up_to_date(self) -> bool:
        """True when the database is exactly at the shipped heads."""
        return set(self.current) == set(self.heads)

    @property
    def ahead(self) -> bool:
        """True when the database holds a revision this gamepay does not know (a newer one)."""
        return any(rev not in self.known for rev in self.current)

    def describe(self) -> str:
        """One line: where the schema is and what to do about it."""
        at = ", ".join(self.current)
        heads = ", ".join(self.heads)
        if self.up_to_date:
            return f"schema is up to date (at {heads})"
        if self.ahead:
            return f"schema is at {at}, newer than this gamepay ({heads}): upgrade gamepay"
        if not self.current:
            return "the database has no gamepay schema yet: run `gamepay db upgrade`"
        return f"schema is at {at}, this gamepay needs {heads}: run `gamepay db upgrade`"


def _script_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("gamepay.store") / "migrations"))
    return config


def _driver_url(url: str) -> tuple[URL, Dialect]:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {url[:30]!r}...") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError("a SQLite store needs a file path: sqlite:///abs/path.db")
        return parsed.set(drivername="sqlite+aiosqlite"), "sqlite"
    if backend in ("postgresql", "postgres"):
        if importlib.util.find_spec("asyncpg") is None:
            raise ConfigError("PostgreSQL needs asyncpg: pip install 'gamepay[postgres]'")
        return parsed.set(drivername="postgresql+asyncpg"), "postgresql"
    raise ConfigError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def _setup_sqlite(engine: AsyncEngine, busy_timeout_ms: int, synchronous: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        driver = record.driver_connection
        assert driver is not None
        await_(driver._execute(driver._conn.create_aggregate, SQLITE_BIG_SUM, 1, BigSumAggregate))
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SAFETY_CHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, record: ConnectionPoolEntry, state: Any) -> None:
        # Roll back on return to the pool only when a transaction is open: after a commit the
        # pool's unconditional ROLLBACK is a wasted round trip to the driver's thread.
        if state.terminate_only:
            return
        driver = record.driver_connection
        if driver is None or driver.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to aiosqlite: one thread hop instead of a SQLAlchemy cursor's three. Writers
        # take the write lock up front; Store.read's snapshot readers do not need it.
        driver = conn.connection.driver_connection
        assert driver is not None
        reading = conn.get_execution_options().get("gamepay_read_only", False)
        await_(driver.execute("BEGIN" if reading else "BEGIN IMMEDIATE"))


class Store:
    """A gamepay database: connect, migrate, and run transactions with retries."""

    def __init__(
        self,
        engine: AsyncEngine,
        dialect: Dialect,
        *,
        max_retries: int = 12,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.dialect: Dialect = dialect
        self._retrying = Retrier(max_retries, rng)
        # SQLite has one writer at a time: this process's writers queue here, first come first
        # served (and commit in groups), not in SQLite's busy handler (which sleeps and polls).
        self._writers: asyncio.Lock | None = None
        self._group: GroupCommit | None = None
        if dialect == "sqlite":
            self._writers = asyncio.Lock()
            self._group = GroupCommit(self.transaction, engine.connect, self._retrying)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        pool_size: int = 30,
        max_overflow: int = 0,
        max_retries: int = 12,
        busy_timeout_ms: int = 10_000,
        sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL",
        echo: bool = False,
    ) -> Store:
        """Open ``sqlite:///abs/path.db`` or ``postgresql://user@host:port/db``; check it answers.

        ``pool_size``/``max_overflow`` size the PostgreSQL connection pool (connections are
        opened on demand and kept: an overflow connection is closed on its return, so under a
        steady load above ``pool_size`` every checkout would open and close a connection, which
        cost ~15% of a replica's CPU in ``bench/scale.py``); ``max_retries`` bounds
        the retries of ``run``. SQLite commits are durable (``synchronous=FULL``: a committed
        hold survives a power cut before its withdrawal is sent); ``"NORMAL"`` trades that for
        speed (WAL stays consistent, the last commits may be lost). Raises ``ConfigError`` for a
        bad URL, ``StoreError`` when the database cannot be reached.
        """
        driver_url, dialect = _driver_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if dialect == "sqlite":
            kwargs.update(pool_reset_on_return=None)  # the "reset" hook above decides
        if dialect == "postgresql":
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=False)
        engine = create_async_engine(driver_url, **kwargs)
        if dialect == "sqlite":
            if sqlite_synchronous not in ("FULL", "NORMAL"):
                raise ConfigError("sqlite_synchronous must be FULL or NORMAL")
            _setup_sqlite(engine, busy_timeout_ms, sqlite_synchronous)
        store = cls(engine, dialect, max_retries=max_retries)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (DBAPIError, OSError) as exc:
            await engine.dispose()
            detail = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
            raise StoreError(f"cannot reach the {dialect} database: {detail}") from exc
        return store

    async def close(self) -> None:
        """Let queued writes and a running checkpoint finish, then close every connection."""
        if self._group is not None:
            await self._group.aclose()
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction: commits when the block exits, rolls back when it raises.

        Not retried (the caller owns the block); on SQLite it waits for this process's turn to
        write, like ``run``. ``read_only=True`` is ``read``'s transaction instead (on SQLite a
        snapshot beside the writers), for a caller that must stream rows out of the block.
        Prefer ``run`` for writes and ``read`` for reads.
        """
        if read_only:
            async with self.engine.connect() as conn:
                reader = await conn.execution_options(gamepay_read_only=True)
                async with reader.begin():
                    yield reader
            return
        if self._writers is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._writers, self.engine.begin() as conn:
            yield conn

    async def run(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``fn(conn)`` in a transaction, retrying all of it on serialization/deadlock/busy.

        ``fn`` may run more than once, so it must not have effects outside the database. On
        SQLite it is queued and may share its transaction with other writers' jobs (group
        commit, see ``gamepay.store.group_commit``): it still runs atomically, after every job
        queued before it, and returns only once committed.
        """
        if self._group is not None:
            result: T = await self._group.submit(fn)
            return result

        async def attempt() -> T:
            async with self.engine.begin() as conn:
                return await fn(conn)

        return await self._retrying(attempt, "transaction")

    async def run_single(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``run`` for work that is usually ONE statement on the driver (PostgreSQL): ``fn``
        gets a connection that sends no BEGIN of its own, so a statement it runs through
        ``gamepay.store.rows.postgres_driver`` is its own transaction: one round trip instead
        of three. A SQLAlchemy statement ``fn`` runs begins a transaction as usual (then the
        driver's statements join it), committed when ``fn`` returns. Retried like ``run``; on
        SQLite it is ``run``.
        """
        if self.dialect != "postgresql":
            return await self.run(fn)

        async def attempt() -> T:
            async with self.engine.connect() as conn:
                single = await conn.execution_options(**{SINGLE_OPTION: True})
                result = await fn(single)
                if single.in_transaction():
                    await single.commit()
                return result

        return await self._retrying(attempt, "transaction")

    async def read(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``fn(conn)`` in a read-only transaction beside the writers (``fn`` must not write).

        On SQLite it reads a snapshot (a deferred ``BEGIN`` in WAL mode) without queueing
        behind the writers; on PostgreSQL it is a READ COMMITTED transaction like ``run``.
        """

        async def attempt() -> T:
            async with self.transaction(read_only=True) as conn:
                return await fn(conn)

        return await self._retrying(attempt, "read")

    async def schema(self) -> SchemaStatus:
        """Read the schema's revisions (creates nothing, migrates nothing)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(_script_config())
        known = frozenset(rev.revision for rev in script.walk_revisions())

        def current(sync_conn: Connection) -> tuple[str, ...]:
            context = MigrationContext.configure(sync_conn, opts={"version_table": VERSION_TABLE})
            return tuple(sorted(context.get_current_heads()))

        try:
            async with self.transaction(read_only=True) as conn:
                revisions = await conn.run_sync(current)
        except DBAPIError as exc:
            raise StoreError(f"cannot read the schema version: {exc.orig}") from exc
        return SchemaStatus(revisions, tuple(sorted(script.get_heads())), known)

    async def require_schema(self) -> None:
        """``SchemaNotCurrent`` unless the schema is exactly at this gamepay's heads."""
        status = await self.schema()
        if not status.up_to_date:
            raise SchemaNotCurrent(status.describe())

    async def migrate(self) -> None:
        """Bring the schema up to date: Alembic ``upgrade heads`` in one transaction."""
        from alembic import command

        config = _script_config()

        def upgrade(sync_conn: Connection) -> None:
            if self.dialect == "postgresql":
                sync_conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            config.attributes["connection"] = sync_conn
            command.upgrade(config, "heads")

        try:
            async with self.engine.begin() as conn:
                await conn.run_sync(upgrade)
        except DBAPIError as exc:
            raise MigrationError(f"migration failed: {exc}") from exc
        log.info("schema is at heads")
