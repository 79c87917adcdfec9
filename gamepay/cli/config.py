"""`gamepay config`: show the settings in effect, secrets masked."""

from __future__ import annotations

import typer
from rich.table import Table

from gamepay.cli._common import JsonOption, console, emit_json, fold_table, settings_of

__all__ = ["config"]


def config(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the configuration in effect (GAMEPAY_* variables and .env), secrets masked."""
    view = settings_of(ctx).public_view()
    if as_json:
        emit_json(view)
        return
    table = Table("setting", "variable", "value", title="gamepay configuration")
    for name, value in view.items():
        table.add_row(name, f"GAMEPAY_{name.upper()}", "" if value is None else str(value))
    console.print(fold_table(table))
