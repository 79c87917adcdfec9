"""`gamepay serve`: the production process (websocket adapter, callback endpoint, metrics)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import typer

from gamepay.cli._common import console, run, settings_of
from gamepay.config import Settings

__all__ = ["serve"]


async def _serve(settings: Settings, ready: asyncio.Event | None = None) -> None:
    from gamepay.cli.runtime import catalog_for, running_runtime

    catalog = catalog_for(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with running_runtime(settings, catalog) as runtime:
            standalone = runtime.standalone_ws_url
            console.print(
                f"gamepay serving: websocket {runtime.ws_url}, http {runtime.http_url} "
                f"(callbacks at {runtime.callback_url}, metrics at {runtime.http_url}/metrics"
                + (f", standalone websocket {standalone}" if standalone else "")
                + f"); {len(catalog)} catalog items; Ctrl-C to stop"
            )
            if ready is not None:
                ready.set()
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


def serve(ctx: typer.Context) -> None:
    """Run gamepay for production on one port: websocket at /ws, KryptoGO callbacks, /metrics.

    Configured from GAMEPAY_* variables (see `gamepay config`); migrates the schema first.
    Stops cleanly on SIGINT/SIGTERM.
    """
    run(_serve(settings_of(ctx)))
