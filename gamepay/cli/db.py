"""`gamepay db`: the schema (Alembic migrations shipped in the package)."""

from __future__ import annotations

import typer

from gamepay.cli._common import JsonOption, console, emit_json, open_store, run, settings_of
from gamepay.config import Settings

__all__ = ["app"]

app = typer.Typer(help="Database schema commands.", no_args_is_help=True)


async def _upgrade(settings: Settings) -> None:
    async with open_store(settings) as store:
        await store.migrate()


@app.command()
def upgrade(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Bring the schema up to date (safe to run on every deploy; idempotent)."""
    settings = settings_of(ctx)
    run(_upgrade(settings), as_json=as_json)
    if as_json:
        emit_json({"database": settings.safe_database_url, "upgraded": True})
    else:
        console.print(f"schema of {settings.safe_database_url} is up to date")
