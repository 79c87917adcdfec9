"""A running economy from parts over a migrated store and the sandbox, for in-process tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gamepay import Economy, Store
from gamepay.testing import RunningSandbox, running_sandbox
from tests.support.sandbox import client_for


@asynccontextmanager
async def running_economy(
    db_url: str, **parts: Any
) -> AsyncIterator[tuple[Economy, RunningSandbox]]:
    """``Economy.from_parts(**parts)`` on a migrated store at ``db_url`` with a client of a
    fresh sandbox, running (entered); the economy, client and store are closed on exit."""
    store = await Store.connect(db_url)
    await store.migrate()
    async with running_sandbox() as sandbox:
        client = client_for(sandbox)
        economy = Economy.from_parts(store=store, client=client, **parts)
        try:
            async with economy:
                yield economy, sandbox
        finally:
            await client.aclose()
            await store.close()
