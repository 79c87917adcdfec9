"""Stopping a child process a test started, the way a person at a terminal would."""

from __future__ import annotations

import asyncio
import signal

import psutil

__all__ = ["exited", "interrupt"]


def _cpu_seconds(pid: int) -> float | None:
    """The CPU time ``pid`` used so far, or None when it cannot be read (it is ending)."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


async def exited(proc: asyncio.subprocess.Process, idle: float = 20) -> bool:
    """Wait until ``proc`` ends (True), or until it used no CPU for ``idle`` seconds in a row
    (False: stuck): a slow exit on a loaded machine is waited for, a hung one is not."""
    waiter = asyncio.ensure_future(proc.wait())
    used, still = _cpu_seconds(proc.pid), 0.0
    try:
        while True:
            done, _ = await asyncio.wait({waiter}, timeout=1.0)
            if done:
                return True
            now = _cpu_seconds(proc.pid)
            still = still + 1.0 if now is not None and used is not None and now <= used else 0.0
            used = now
            if still >= idle:
                return False
    finally:
        waiter.cancel()


async def interrupt(proc: asyncio.subprocess.Process, idle: float = 20) -> None:
    """Ctrl-C a process that still runs and wait for it to end; kill it only if it is stuck
    (no CPU used for ``idle`` seconds), not merely slow."""
    if proc.returncode is not None:
        return
    proc.send_signal(signal.SIGINT)
    if not await exited(proc, idle):
        proc.kill()
        await proc.wait()
