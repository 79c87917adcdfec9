"""``gamepay.eventloop.run`` picks uvloop when installed and GAMEPAY_LOOP does not say otherwise."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from gamepay.eventloop import loop_name, run


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_gamepay_loop_asyncio_forces_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """GAMEPAY_LOOP=asyncio runs the coroutine on asyncio's own loop and returns its result."""
    monkeypatch.setenv("GAMEPAY_LOOP", "asyncio")
    assert loop_name() == "asyncio"
    assert run(_loop_module()).startswith("asyncio")


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop not installed")
def test_uvloop_is_used_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """With uvloop installed and no override, the coroutine runs on a uvloop loop."""
    monkeypatch.delenv("GAMEPAY_LOOP", raising=False)
    assert loop_name() == "uvloop"
    assert run(_loop_module()).startswith("uvloop")
