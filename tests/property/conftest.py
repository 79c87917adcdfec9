"""Fixtures of the Hypothesis state machines, which run synchronously (no pytest-asyncio)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from gamepay.testing import fresh_postgres_database


@pytest.fixture
def pg_machine_url(pg_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the whole machine run (created and dropped here)."""
    loop = asyncio.new_event_loop()
    manager = fresh_postgres_database(pg_url)
    try:
        url = loop.run_until_complete(manager.__aenter__())
        yield url
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()
