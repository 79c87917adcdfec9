"""Helpers for tests, ours and the studios': throwaway databases on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

__all__ = ["fresh_postgres_database", "sqlite_url"]


def sqlite_url(path: Path | str) -> str:
    """Return the gamepay database URL of a SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _plain(url: str) -> str:
    """Drop a SQLAlchemy driver suffix (``postgresql+asyncpg``) so asyncpg accepts the URL."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


@asynccontextmanager
async def fresh_postgres_database(server_url: str) -> AsyncIterator[str]:
    """Create an empty database on the server of ``server_url``, yield its URL, then drop it."""
    name = f"gp_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(_plain(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(server_url, name)
    finally:
        admin = await asyncpg.connect(_plain(server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
