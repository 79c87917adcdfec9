"""A KryptoGO client pointed at a running sandbox, the way most tests build one."""

from __future__ import annotations

from typing import Any

from gamepay.kryptogo.client import KryptoGOClient
from gamepay.sandbox import RunningSandbox

__all__ = ["client_for"]


def client_for(sandbox: RunningSandbox, **options: Any) -> KryptoGOClient:
    """A client with the sandbox's id, API key, origin and URL, plus any other client option."""
    return KryptoGOClient(
        client_id=sandbox.client_id,
        api_key=sandbox.api_key,
        origin=sandbox.origin,
        base_url=sandbox.url,
        **options,
    )
