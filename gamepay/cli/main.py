"""The ``gamepay`` command: operator verbs, each area's commands in its own module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gamepay.cli import (
    catalog,
    config,
    db,
    demo,
    intents,
    ledger,
    rewards,
    sandbox,
    serve,
    withdrawals,
)
from gamepay.cli._common import init_context

__all__ = ["app", "main"]

app = typer.Typer(
    help="gamepay: a token economy on KryptoGO Studio.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(rewards.app, name="rewards")
app.add_typer(db.app, name="db")
app.add_typer(withdrawals.app, name="withdrawals")
app.add_typer(catalog.app, name="catalog")
app.command(name="config")(config.config)
app.command(name="balance")(ledger.balance)
app.command(name="history")(ledger.history)
app.command(name="verify")(ledger.verify)
app.add_typer(intents.app, name="intents")
app.command(name="reconcile")(intents.reconcile)
app.command(name="serve")(serve.serve)
app.command(name="demo")(demo.demo)


@app.callback()
def _root(
    ctx: typer.Context,
    env_file: Annotated[
        Path,
        typer.Option(envvar="GAMEPAY_ENV_FILE", help="Read GAMEPAY_* settings from this file."),
    ] = Path(".env"),
    log_level: Annotated[
        str | None, typer.Option(help="Override GAMEPAY_LOG_LEVEL (DEBUG, INFO, ...).")
    ] = None,
) -> None:
    """Operate gamepay: serve, inspect the ledger and payments, reconcile, run the demo."""
    init_context(ctx, env_file, log_level)


@app.command()
def version() -> None:
    """Print the gamepay version."""
    from gamepay import __version__

    typer.echo(__version__)


def main() -> None:
    """Run the gamepay CLI."""
    app()


if __name__ == "__main__":
    main()
