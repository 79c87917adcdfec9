"""``serve_http`` on a taken port raises ``PortInUse`` (never ``SystemExit`` into a host)."""

from __future__ import annotations

import socket

import pytest
from starlette.applications import Starlette

from gamepay.errors import PortInUse
from gamepay_ws import serve_http


async def test_busy_port_is_a_typed_error_and_the_port_stays_usable_after() -> None:
    """A port another socket holds gives PortInUse with host and port; once released, the
    same call serves on it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUse) as info:
            async with serve_http(Starlette(), "127.0.0.1", port):
                pass
    assert (info.value.host, info.value.port, info.value.code) == ("127.0.0.1", port, "port_in_use")
    assert f"127.0.0.1:{port}" in info.value.message
    async with serve_http(Starlette(), "127.0.0.1", port) as bound:
        assert bound == port
