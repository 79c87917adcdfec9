"""Stopping a child process a test started, the way a person at a terminal would."""

from __future__ import annotations

import asyncio
import signal

__all__ = ["interrupt"]


async def interrupt(proc: asyncio.subprocess.Process, within: float = 20) -> None:
    """Ctrl-C a process that still runs and wait for it; kill it if it has not ended ``within``."""
    if proc.returncode is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(proc.wait(), within)
    except TimeoutError:
        proc.kill()
        await proc.wait()
