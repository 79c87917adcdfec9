"""`gamepay serve`: the production process (websocket adapter, callback endpoint, metrics).

Before it touches the database or a port, ``serve`` checks the settings once by the one rule,
``Settings.vet()``, that ``Economy.from_settings`` applies too (``Settings.problems()``: the
websocket token secret, sandbox credentials aimed at a real KryptoGO host, the public callback
URL) and refuses to start, one line per problem, exit 2; ``GAMEPAY_ENV=dev`` turns them into
warnings, each printed once (the economy does not repeat what ``serve`` showed). Then one cheap
authenticated KryptoGO call (:func:`probe_kryptogo`) tells rejected credentials (exit 2) from an
unreachable host (a warning: the poller and the retries absorb an outage, and balance purchases
do not need KryptoGO).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import typer
from pydantic import SecretStr

from gamepay.cli._common import console, err_console, run, settings_of
from gamepay.config import Settings, UnsafeSettings
from gamepay.errors import (
    AuthenticationError,
    KryptoGOError,
    NotFoundError,
    TransportError,
)

if TYPE_CHECKING:
    from gamepay.rewards.programs import Program

__all__ = ["probe_kryptogo", "serve"]

_PROBE_ID = "gamepay-startup-probe"
ProbeOutcome = Literal["ok", "rejected", "unreachable", "unexpected"]


async def probe_kryptogo(settings: Settings) -> tuple[ProbeOutcome, str]:
    """One authenticated GET of an intent that does not exist, without retries.

    ``not found`` means the credentials were accepted ("ok"); ``rejected`` names the variables
    to fix; ``unreachable`` names the base URL. The line never contains a secret.
    """
    from gamepay.kryptogo.client import KryptoGOClient
    from gamepay.kryptogo.retry import RetryPolicy

    where = settings.kryptogo_base_url
    client = KryptoGOClient(
        client_id=settings.kryptogo_client_id,
        api_key=settings.kryptogo_api_key.get_secret_value(),
        origin=settings.kryptogo_origin,
        base_url=where,
        timeout=min(settings.kryptogo_timeout_s, 5.0),
        retry=RetryPolicy(max_attempts=1),
    )
    quiet = logging.getLogger("gamepay.kryptogo")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the outcome is reported in one line below, not twice
    try:
        await client.get_intent(_PROBE_ID)
    except NotFoundError:
        return "ok", f"KryptoGO at {where} accepted the credentials"
    except AuthenticationError as exc:
        return "rejected", (
            f"KryptoGO at {where} rejected the credentials (HTTP {exc.status}, code "
            f"{exc.api_code}): check GAMEPAY_KRYPTOGO_CLIENT_ID, GAMEPAY_KRYPTOGO_API_KEY "
            "and GAMEPAY_KRYPTOGO_ORIGIN"
        )
    except TransportError as exc:
        return "unreachable", (
            f"KryptoGO at {where} is unreachable ({exc.code}): check GAMEPAY_KRYPTOGO_BASE_URL "
            "and the network; starting anyway"
        )
    except KryptoGOError as exc:
        return "unexpected", f"KryptoGO at {where} answered the start-up check with {exc.code}"
    finally:
        quiet.setLevel(level)
        await client.aclose()
    return "ok", f"KryptoGO at {where} answered"


def preflight(settings: Settings) -> Settings:
    """Refuse unsafe settings (exit 2, one line each) or, with GAMEPAY_ENV=dev, warn.

    In dev an unset token secret is replaced by a random one for this process.
    """
    try:
        warnings = settings.vet()  # the rule; the economy serve builds does not warn again
    except UnsafeSettings as exc:
        for line in exc.problems:
            err_console.print(f"[red]error[/red]: {line}", markup=True, soft_wrap=True)
        err_console.print(
            "gamepay serve refused to start (GAMEPAY_ENV=dev allows demo values)", soft_wrap=True
        )
        raise typer.Exit(2) from None
    for line in warnings:
        err_console.print(f"[yellow]warning[/yellow] (dev): {line}", markup=True, soft_wrap=True)
    if settings.ws_token_secret is None:
        secret = SecretStr(secrets.token_hex(32))
        return settings.model_copy(update={"ws_token_secret": secret})
    return settings


async def _serve(
    settings: Settings,
    ready: asyncio.Event | None = None,
    programs: Sequence[Program] = (),
) -> None:
    from gamepay.cli.runtime import catalog_for, running_runtime
    from gamepay.cli.scheduler import describe

    catalog = catalog_for(settings)
    outcome, line = await probe_kryptogo(settings)
    if outcome == "rejected" and settings.env != "dev":
        err_console.print(f"[red]error[/red]: {line}", markup=True, soft_wrap=True)
        raise typer.Exit(2)
    if outcome != "ok":
        err_console.print(f"[yellow]warning[/yellow]: {line}", markup=True, soft_wrap=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with running_runtime(settings, catalog, programs=programs, schedule=True) as runtime:
            standalone = runtime.standalone_ws_url
            console.print(
                f"gamepay serving: websocket {runtime.ws_url}, http {runtime.http_url} "
                f"(callbacks at {runtime.callback_url}, metrics at {runtime.http_url}/metrics"
                + (f", standalone websocket {standalone}" if standalone else "")
                + f"); {len(catalog)} catalog items; Ctrl-C to stop",
                soft_wrap=True,
            )
            if runtime.scheduler is not None:
                err_console.print(describe(runtime.scheduler, settings, programs), soft_wrap=True)
            if ready is not None:
                ready.set()
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


def serve(ctx: typer.Context) -> None:
    """Run gamepay for production on one port: websocket at /ws, KryptoGO callbacks, /metrics,
    and the scheduler (reward programs of GAMEPAY_REWARDS_FILE, reconciliation).

    Configured from GAMEPAY_* variables (see `gamepay config`); refuses unsafe settings (exit
    2) before touching the database; migrates the schema first. Stops on SIGINT/SIGTERM.
    """
    from gamepay.cli.scheduler import programs_for
    from gamepay.rewards.programs_file import RewardsFileError

    settings = preflight(settings_of(ctx))
    try:
        programs = programs_for(settings)  # a bad rewards file stops it before any I/O
    except RewardsFileError as exc:
        for line in exc.message.splitlines():
            err_console.print(
                f"[red]error[/red]: {line}", markup=True, soft_wrap=True, highlight=False
            )
        raise typer.Exit(2) from None
    run(_serve(settings, programs=programs))
