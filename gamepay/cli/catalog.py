"""`gamepay catalog schema/validate`, and ``catalog_for``: how every command reads the catalog.

``gamepay serve``, ``gamepay reconcile`` and every other command that needs the catalog read it
through ``catalog_for(settings)``, which is the economy's ``catalog_of`` (its one home): the
JSON file ``GAMEPAY_CATALOG_FILE`` (format in ``docs/catalog.md``), or an empty catalog when it
is unset.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gamepay.cli._common import JsonOption, emit_json
from gamepay.economy.parts import catalog_of
from gamepay.payments.catalog import CatalogError, catalog_schema, load_catalog

__all__ = ["app", "catalog_for"]

app = typer.Typer(help="The catalog file: its JSON Schema and a validator.", no_args_is_help=True)


catalog_for = catalog_of
"""How every command reads ``GAMEPAY_CATALOG_FILE``: ``gamepay.economy.catalog_of``."""


@app.command()
def schema() -> None:
    """Print the catalog file's JSON Schema (draft 2020-12)."""
    typer.echo(json.dumps(catalog_schema(), indent=2))


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="The catalog JSON file to check.")],
    as_json: JsonOption = False,
) -> None:
    """Check a catalog file: exit 0 when valid, 2 with one line per problem otherwise."""
    try:
        catalog = load_catalog(file)
    except CatalogError as exc:
        if as_json:
            emit_json({"ok": False, "file": str(file), "problems": exc.problems})
        else:
            for line in exc.problems:
                typer.echo(f"{file}: {line}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        emit_json({"ok": True, "file": str(file), "items": len(catalog)})
    else:
        typer.echo(f"{file}: ok, {len(catalog)} item(s)")
