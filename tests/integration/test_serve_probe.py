"""`gamepay serve`'s start-up KryptoGO check: accepted, rejected or unreachable, in one line."""

from __future__ import annotations

import socket

from gamepay.cli.serve import probe_kryptogo
from gamepay.config import Settings
from gamepay.sandbox import SandboxConfig
from gamepay.testing import running_sandbox

KEY = "sk_probe_right_key_0001"


def _settings(url: str, client_id: str, key: str, origin: str) -> Settings:
    return Settings(
        _env_file=None,
        kryptogo_base_url=url,
        kryptogo_client_id=client_id,
        kryptogo_api_key=key,
        kryptogo_origin=origin,
    )


async def test_probe_tells_accepted_from_rejected_credentials() -> None:
    """The sandbox answers the probe like KryptoGO: not found with good credentials (ok),
    4002 with a wrong key (rejected, naming the variables, never the key)."""
    async with running_sandbox(SandboxConfig(api_key=KEY)) as sandbox:
        good = _settings(sandbox.url, sandbox.client_id, KEY, sandbox.origin)
        outcome, line = await probe_kryptogo(good)
        assert (outcome, line) == ("ok", f"KryptoGO at {sandbox.url} accepted the credentials")
        bad = _settings(sandbox.url, sandbox.client_id, "sk_wrong_never_shown", sandbox.origin)
        outcome, line = await probe_kryptogo(bad)
    assert outcome == "rejected"
    assert "GAMEPAY_KRYPTOGO_API_KEY" in line
    assert "sk_wrong_never_shown" not in line
    assert "\n" not in line


async def test_probe_names_an_unreachable_host() -> None:
    """A closed port is 'unreachable', naming the base URL variable, after a single attempt."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    outcome, line = await probe_kryptogo(_settings(url, "c", "k", "http://localhost"))
    assert outcome == "unreachable"
    assert url in line
    assert "GAMEPAY_KRYPTOGO_BASE_URL" in line
