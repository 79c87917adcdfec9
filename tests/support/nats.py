"""NATS test helpers: a private stream per test, and a TCP proxy that can make NATS unreachable."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import nats
from nats.js.errors import NotFoundError

__all__ = ["CuttableProxy", "StreamNames", "private_stream"]


@dataclass(frozen=True)
class StreamNames:
    """A stream and its subject, unique to one test (tests share one NATS server)."""

    stream: str
    subject: str


@asynccontextmanager
async def private_stream(url: str) -> AsyncIterator[StreamNames]:
    """Names of a stream no other test uses; the stream is deleted afterwards."""
    tag = secrets.token_hex(5)
    names = StreamNames(stream=f"GP_TEST_{tag}", subject=f"gamepay.test.{tag}")
    try:
        yield names
    finally:
        nc = await nats.connect(url)
        try:
            with contextlib.suppress(NotFoundError):
                await nc.jetstream().delete_stream(names.stream)
        finally:
            await nc.close()


class CuttableProxy:
    """Forwards TCP connections to the NATS server; ``cut()`` makes it unreachable (refused and
    every open connection dropped) until ``restore()`` listens again on the same port."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 4222
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The proxy's NATS URL."""
        return f"nats://127.0.0.1:{self.port}"

    async def restore(self) -> None:
        """Listen (again, on the same port once one was picked)."""
        self._server = await asyncio.start_server(
            self._link, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and drop every forwarded connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        except OSError:
            writer.transport.abort()
            return
        self._links.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._links.discard(writer)
        self._links.discard(up_writer)
