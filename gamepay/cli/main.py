"""The ``gamepay`` command: operator verbs, each area's commands in its own module."""

from __future__ import annotations

import typer

from gamepay.cli import rewards, sandbox

app = typer.Typer(help="gamepay: a token economy on KryptoGO Studio.", no_args_is_help=True)
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(rewards.app, name="rewards")


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
