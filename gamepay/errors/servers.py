"""Errors of the processes gamepay runs: the KryptoGO emulator (``SandboxError``), a taken port."""

from __future__ import annotations

from gamepay.errors.base import GamepayError

__all__ = ["PortInUse", "SandboxError"]


class SandboxError(GamepayError):
    """The sandbox (local KryptoGO emulator) refused an API or control operation.

    ``api_code`` and ``http_status`` are what the sandbox answers over HTTP for it.
    """

    code = "sandbox_error"

    def __init__(self, message: str, *, api_code: int, http_status: int) -> None:
        super().__init__(message)
        self.api_code = api_code
        self.http_status = http_status

    def __repr__(self) -> str:
        return f"SandboxError(api_code={self.api_code!r}, message={self.message!r})"


class PortInUse(GamepayError):
    """A server could not listen on ``host:port``: another process holds the address."""

    code = "port_in_use"

    def __init__(self, host: str, port: int, *, setting: str | None = None) -> None:
        where = f" ({setting})" if setting else ""
        super().__init__(
            f"cannot listen on {host}:{port}{where}: the address is already in use "
            "(stop the other process or pick another port)"
        )
        self.host = host
        self.port = port
