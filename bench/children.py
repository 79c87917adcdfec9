"""What the multi-process benchmarks share: starting this script again on a job file, reading a
child's last JSON line, and waiting for the reply to one websocket request."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection

__all__ = ["child_result", "reply_to", "start_child"]


def _write_job(job_file: Path, job: dict[str, Any]) -> None:
    job_file.write_text(json.dumps(job))


async def start_child(
    script: Path, flag: str, job: dict[str, Any], job_file: Path, *, stdin: bool
) -> asyncio.subprocess.Process:
    """Write ``job`` to ``job_file`` and run ``script flag job_file`` (stdout piped; stdin too
    when ``stdin``)."""
    _write_job(job_file, job)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        flag,
        str(job_file),
        stdin=asyncio.subprocess.PIPE if stdin else None,
        stdout=asyncio.subprocess.PIPE,
    )


async def child_result(child: asyncio.subprocess.Process) -> dict[str, Any]:
    """Wait for the players' process; the JSON object on its last line (RuntimeError if it
    failed)."""
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the players' process failed with exit code {child.returncode}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def reply_to(ws: ClientConnection, request_id: int) -> dict[str, Any]:
    """The next message on ``ws`` answering request ``request_id`` (others are skipped)."""
    while True:
        message: dict[str, Any] = json.loads(await ws.recv())
        if message.get("id") == request_id:
            return message
