"""``GroupCommit``: this process's SQLite write transactions, queued and committed in groups.

SQLite has one writer at a time, and a durable commit (``synchronous=FULL``) costs an fsync.
Writers that arrive while a transaction is running wait in a first-come, first-served queue; the
next transaction then takes up to ``max_group`` of them at once: one ``BEGIN IMMEDIATE``, each
job inside its own ``SAVEPOINT`` (a job that raises is rolled back to it alone), one ``COMMIT``.
So under a burst the fixed cost of a transaction (begin, commit, fsync, taking the lock) is paid
once per group instead of once per job, and the queue drains faster the longer it gets.

What a caller sees does not change: its job is atomic, sees every job queued before it, and its
result (or its exception) is handed back only once the group's commit is durable. When the group
hits a retryable error (another process holds the database) the whole group runs again, which
``Store.run``'s contract allows (a job may run more than once). A lone job runs without savepoints.

It knows nothing of ``Store``: the store hands it a way to begin a write transaction, a way to get
a plain pooled connection (for checkpoints) and its ``Retrier``.

Checkpoints (copying the write-ahead log back into the database file, with its own fsyncs) are
taken off the writers' path too: SQLite's automatic checkpoint, which runs inside whichever
commit crosses the threshold and holds the write lock meanwhile (~10 ms here), only stays as a
safety net at ``SAFETY_CHECKPOINT_PAGES``; every ``checkpoint_every`` commits a PASSIVE checkpoint
runs on another pooled connection (its own thread), beside the writers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.store.retries import Retrier, is_retryable
from gamepay.store.rows import sqlite_driver

__all__ = ["SAFETY_CHECKPOINT_PAGES", "Connect", "GroupCommit"]

log = logging.getLogger("gamepay.store")

Job = Callable[[AsyncConnection], Awaitable[Any]]
Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
"""Opens a connection (``engine.connect``) or a transaction (``engine.begin``) as a context."""
_SAVEPOINT = "gp_job"

SAFETY_CHECKPOINT_PAGES = 10_000
"""``wal_autocheckpoint`` on SQLite connections: only reached if the background checkpoints lag."""


class GroupCommit:
    """The write queue of one SQLite database (one per ``Store``, used by ``Store.run``).

    ``begin`` opens this process's write transaction (``BEGIN IMMEDIATE``, one at a time),
    ``connect`` a plain pooled connection for checkpoints; ``retrying`` runs a group again on a
    retryable error.
    """

    def __init__(
        self,
        begin: Connect,
        connect: Connect,
        retrying: Retrier,
        *,
        max_group: int = 32,
        checkpoint_every: int = 200,
    ) -> None:
        self._begin = begin
        self._connect = connect
        self._retrying = retrying
        self.max_group = max_group
        self.checkpoint_every = checkpoint_every
        self._queue: deque[tuple[Job, asyncio.Future[Any]]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._busy = False  # a caller or the worker is running a transaction
        self._checkpointer: asyncio.Task[None] | None = None
        self._since_checkpoint = 0
        self.groups = 0
        """Transactions committed so far (a figure for benchmarks and tests)."""
        self.checkpoints = 0
        """Background checkpoints taken so far."""

    async def aclose(self) -> None:
        """Wait for queued jobs and a running checkpoint to finish (before closing the pool)."""
        for task in (self._worker, self._checkpointer):
            if task is not None and not task.done():
                await asyncio.gather(task, return_exceptions=True)

    def _committed(self) -> None:
        self.groups += 1
        self._since_checkpoint += 1
        running = self._checkpointer is not None and not self._checkpointer.done()
        if self._since_checkpoint >= self.checkpoint_every and not running:
            self._since_checkpoint = 0
            self._checkpointer = asyncio.ensure_future(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            async with self._connect() as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                assert driver is not None
                await driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.checkpoints += 1
        except Exception:  # the safety net still checkpoints; never fail a writer for this
            log.warning("background WAL checkpoint failed", exc_info=True)

    async def submit(self, fn: Job) -> Any:
        """Run ``fn`` in a write transaction; its result once that transaction has committed.

        With nobody writing, the caller runs its job at once, in its own task; otherwise the job
        queues for the next group, which a worker task commits.
        """
        if not self._busy:
            self._busy = True
            try:
                ((ok, value),) = await self._run_group([fn])
            finally:
                self._hand_over()
            if ok:
                return value
            raise value
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((fn, future))
        return await future

    def _hand_over(self) -> None:
        """The writer's turn ends: a worker takes the queued jobs, or the store is idle."""
        if self._queue:
            self._worker = asyncio.ensure_future(self._drain())
        else:
            self._busy = False

    async def _drain(self) -> None:
        try:
            while self._queue:
                group: list[tuple[Job, asyncio.Future[Any]]] = []
                while self._queue and len(group) < self.max_group:
                    job = self._queue.popleft()
                    if not job[1].done():  # a caller that gave up is not run
                        group.append(job)
                if not group:
                    continue
                try:
                    outcomes = await self._run_group([fn for fn, _ in group])
                except BaseException:
                    for _, future in group:
                        future.cancel()
                    raise
                for (_, future), (ok, value) in zip(group, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            for _, future in self._queue:
                future.cancel()
            self._queue.clear()
            self._busy = False

    async def _run_group(self, jobs: list[Job]) -> list[tuple[bool, Any]]:
        """Commit ``jobs`` in one transaction, retried whole on retryable errors.

        (True, result) or (False, exception) per job; when the group cannot commit, every job
        gets the same exception (ConcurrencyError once the retries run out).
        """
        try:
            outcomes = await self._retrying(lambda: self._attempt(jobs), "transaction")
        except Exception as exc:
            return [(False, exc)] * len(jobs)
        self._committed()
        return outcomes

    async def _attempt(self, jobs: list[Job]) -> list[tuple[bool, Any]]:
        """Run ``jobs`` in one transaction; (True, result) or (False, exception) per job."""
        outcomes: list[tuple[bool, Any]] = []
        async with self._begin() as conn:
            if len(jobs) == 1:
                outcomes.append((True, await jobs[0](conn)))
                return outcomes
            driver = await sqlite_driver(conn)
            for job in jobs:
                await driver.execute(f"SAVEPOINT {_SAVEPOINT}")
                try:
                    result = await job(conn)
                except Exception as exc:
                    if is_retryable(exc):
                        raise  # the whole group runs again
                    await driver.execute(f"ROLLBACK TO {_SAVEPOINT}")
                    await driver.execute(f"RELEASE {_SAVEPOINT}")
                    outcomes.append((False, exc))
                else:
                    await driver.execute(f"RELEASE {_SAVEPOINT}")
                    outcomes.append((True, result))
        return outcomes
