"""`gamepay demo` (and `./scripts/demo`): the main job on embedded defaults, with a live view.

Exit code 0 only if every check passed (the ledger verifies, every order is final, grants ==
paid orders, nothing sent twice). With ``--quick`` it is short and its last line is the JSON
summary. Without it, the storefront keeps being served after the summary until Ctrl-C, unless
stdin is not a terminal or ``CI`` is set (then it exits at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from gamepay.cli._common import console, fold_table, run
from gamepay.demo.summary import DemoSummary

__all__ = ["demo", "explore_command", "should_keep_serving"]


def explore_command(database_url: str, cwd: Path | None = None) -> str:
    """One shell command that shows a demo player's balance: runnable as printed, from ``cwd``.

    It names this interpreter's own ``gamepay`` script (``.venv/bin/gamepay`` when the venv is
    under ``cwd``), so it works without an activated venv; paths under ``cwd`` are relative, and
    every word is shell-quoted.
    """
    here = (cwd or Path.cwd()).resolve()

    def short(path: Path) -> str:
        try:
            return str(path.relative_to(here))
        except ValueError:
            return str(path)

    script = Path(sys.executable).parent / "gamepay"
    launcher = (
        [short(script.absolute())]
        if script.exists()
        else [short(Path(sys.executable).absolute()), "-m", "gamepay.cli.main"]
    )
    prefix, sep, path = database_url.partition(":///")
    if sep and path:
        database_url = f"{prefix}:///{short(Path(path))}"
    words = [f"GAMEPAY_DATABASE_URL={database_url}", *launcher, "balance", "player-001"]
    return " ".join(shlex.quote(word) for word in words)


def should_keep_serving(serve: bool | None, quick: bool) -> bool:
    """Serve the storefront after the summary? Only for an interactive, non-CI, full run."""
    if serve is not None:
        return serve
    if quick or os.environ.get("CI"):
        return False
    return sys.stdin.isatty()


async def _wait_for_ctrl_c() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


async def _demo(options: object, keep_serving: bool) -> DemoSummary:
    from gamepay.cli.runtime import running_runtime
    from gamepay.demo.runner import (
        DemoOptions,
        pay_rewards,
        play,
        running_demo,
        settle,
        summarize,
    )
    from gamepay.demo.scenario import plan_players
    from gamepay.demo.view import DemoView, summary_table

    assert isinstance(options, DemoOptions)
    plans = plan_players(options.crowd, seed=options.seed, skus=("sword", "shield", "potion"))
    console.print(
        f"[bold]gamepay demo[/bold]: {len(plans)} simulated players, seed {options.seed}"
        + (" (quick)" if options.quick else "")
    )
    async with running_demo(options, running_runtime) as demo_run:
        console.print(
            f"sandbox {demo_run.sandbox.url} · websocket {demo_run.runtime.ws_url} · "
            f"database {demo_run.runtime.settings.database_url}",
            soft_wrap=True,
        )
        with DemoView(len(plans), console) as view:
            view.phase(f"{len(plans)} players shopping over the websocket")
            await play(demo_run, plans, view)
            await settle(demo_run, view)
            await pay_rewards(demo_run, view)
            view.phase("verifying the ledger")
            summary = await summarize(demo_run, plans)
            view.phase("done")
        console.print()
        console.print(fold_table(summary_table(summary)))
        if summary.storefront_url:
            console.print(f"storefront: [link]{summary.storefront_url}[/link]")
        console.print(
            f"explore it: {explore_command(demo_run.runtime.settings.database_url)}",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
        if keep_serving and summary.storefront_url:
            console.print("serving the storefront until Ctrl-C ...")
            await _wait_for_ctrl_c()
    return summary


def demo(
    quick: Annotated[
        bool, typer.Option("--quick", help="A short run (CI); last line is a JSON summary.")
    ] = False,
    players: Annotated[
        int | None, typer.Option(min=0, max=500, help="How many players (12 quick, 40 full).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the crowd and of the faults.")] = 7,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where the SQLite file goes (./.gamepay).")
    ] = None,
    serve: Annotated[
        bool | None,
        typer.Option(
            "--serve/--no-serve",
            help="Keep serving the storefront after the summary (default: only interactively).",
        ),
    ] = None,
    http_port: Annotated[int, typer.Option(help="HTTP port (0: any free port).")] = 0,
    ws_port: Annotated[
        int | None,
        typer.Option(help="Also a standalone websocket server on this port (players use /ws)."),
    ] = None,
    faults: Annotated[
        bool,
        typer.Option("--faults/--no-faults", help="Duplicate, reorder and drop callbacks."),
    ] = True,
) -> None:
    """Run the demo: sandbox, shop, a crowd of players, rewards, a verified ledger."""
    from gamepay.demo.runner import DemoOptions

    if not os.environ.get("GAMEPAY_LOG_LEVEL"):
        # The live view is the output; library chatter would tear it apart.
        for name in ("gamepay", "gamepay_ws", "uvicorn", "uvicorn.error"):
            logging.getLogger(name).setLevel(logging.ERROR)
    options = DemoOptions(
        quick=quick,
        players=players,
        seed=seed,
        directory=directory,
        http_port=http_port,
        ws_port=ws_port,
        faults=faults,
    )
    summary = run(_demo(options, should_keep_serving(serve, quick)))
    if quick:
        typer.echo(summary.to_json())
    if not summary.ok:
        raise typer.Exit(1)
