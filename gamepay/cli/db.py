"""`gamepay db`: the schema (Alembic migrations shipped in the package).

``upgrade`` is the only command that creates a database or changes its schema; ``current``
prints where the schema is (exit 0 whatever it finds); ``check`` exits 1 unless the schema is
exactly at this gamepay's revision (for a deploy script or a readiness probe). Neither of the
two read commands creates a SQLite file.
"""

from __future__ import annotations

import typer

from gamepay.cli._common import (
    JsonOption,
    console,
    emit_json,
    open_store,
    run,
    settings_of,
    sqlite_path,
)
from gamepay.config import Settings
from gamepay.store import SchemaStatus

__all__ = ["app"]

app = typer.Typer(help="Database schema commands.", no_args_is_help=True)


async def _upgrade(settings: Settings) -> None:
    async with open_store(settings, create=True) as store:
        await store.migrate()


async def _status(settings: Settings) -> SchemaStatus | None:
    """The schema's status, or None when the SQLite file does not exist (nothing is created)."""
    path = sqlite_path(settings.database_url)
    if path is not None and not path.is_file():
        return None
    async with open_store(settings, create=False, check=False) as store:
        return await store.schema()


def _report(settings: Settings, status: SchemaStatus | None, as_json: bool) -> None:
    where = settings.safe_database_url
    if status is None:
        line = "no database file yet: run `gamepay db upgrade`"
        data: dict[str, object] = {"database": where, "exists": False, "up_to_date": False}
    else:
        line = status.describe()
        data = {
            "database": where,
            "exists": True,
            "current": list(status.current),
            "heads": list(status.heads),
            "up_to_date": status.up_to_date,
        }
    if as_json:
        emit_json(data)
    else:
        console.print(f"{where}: {line}", soft_wrap=True)


@app.command()
def upgrade(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Bring the schema up to date (safe to run on every deploy; idempotent)."""
    settings = settings_of(ctx)
    run(_upgrade(settings), as_json=as_json)
    if as_json:
        emit_json({"database": settings.safe_database_url, "upgraded": True})
    else:
        console.print(f"schema of {settings.safe_database_url} is up to date", soft_wrap=True)


@app.command()
def current(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the schema revision of the database and the one this gamepay needs (exit 0)."""
    settings = settings_of(ctx)
    _report(settings, run(_status(settings), as_json=as_json), as_json)


@app.command()
def check(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Exit 0 if the schema is exactly at this gamepay's revision, else 1 (creates nothing)."""
    settings = settings_of(ctx)
    status = run(_status(settings), as_json=as_json)
    _report(settings, status, as_json)
    if status is None or not status.up_to_date:
        raise typer.Exit(1)
