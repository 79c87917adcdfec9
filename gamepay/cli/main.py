"""The ``gamepay`` command: operator verbs, each area's commands in its own module.

:func:`main` runs the app without click's standalone mode, so that every usage error (an
unknown command, ``--log-level LOUD``) and every ``GamepayError`` that escapes a command ends in
one line on stderr and the documented exit code (``gamepay.cli._common.exit_code_for``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gamepay.cli import (
    catalog,
    config,
    db,
    demo,
    intents,
    inventory,
    ledger,
    rewards,
    sandbox,
    serve,
    withdrawals,
)
from gamepay.cli._common import EXIT_USAGE, err_console, exit_code_for, init_context
from gamepay.errors import GamepayError

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _click_class(name: str) -> type[Exception]:
    """click's exception class ``name`` as typer raises it (typer may vendor its own click)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_UsageError = _click_class("UsageError")
_ClickException = _click_class("ClickException")

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
app.add_typer(inventory.app, name="inventory")
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
        Path | None,
        typer.Option(
            envvar="GAMEPAY_ENV_FILE",
            help="Read GAMEPAY_* settings from this file (default: ./.env if it exists).",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="Override GAMEPAY_LOG_LEVEL: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
        ),
    ] = None,
) -> None:
    """Operate gamepay: serve, inspect the ledger and payments, reconcile, run the demo."""
    if log_level is not None and log_level.upper() not in _LEVELS:
        raise typer.BadParameter(
            f"{log_level!r} is not one of {', '.join(_LEVELS)}", param_hint="'--log-level'"
        )
    init_context(ctx, env_file, log_level.upper() if log_level else None)


@app.command()
def version() -> None:
    """Print the gamepay version."""
    from gamepay import __version__

    typer.echo(__version__)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _message(exc: Exception) -> str:
    format_message = getattr(exc, "format_message", None)
    return str(format_message()) if callable(format_message) else str(exc)


def main(args: list[str] | None = None) -> None:
    """Run the gamepay CLI; errors end in one line on stderr and the documented exit code."""
    try:
        code = app(args=args, prog_name="gamepay", standalone_mode=False)
    except _UsageError as exc:
        where = getattr(exc, "ctx", None)
        hint = f" (see: {where.command_path} --help)" if where is not None else ""
        err_console.print(f"error: {_one_line(_message(exc))}{hint}", soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except _ClickException as exc:
        err_console.print(f"error: {_one_line(_message(exc))}", soft_wrap=True)
        sys.exit(getattr(exc, "exit_code", 1))
    except typer.Abort:
        err_console.print("aborted", soft_wrap=True)
        sys.exit(130)
    except GamepayError as exc:
        err_console.print(f"error ({exc.code}): {_one_line(exc.message)}", soft_wrap=True)
        sys.exit(exit_code_for(exc))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
