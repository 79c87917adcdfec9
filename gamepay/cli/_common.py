"""What every operator command shares: settings, logging, async running, output, errors.

Commands print tables with rich for people and, with ``--json``, one JSON document on one line
of stdout for scripts; logs go to stderr so they never mix with that output. A ``GamepayError``
ends the command with one line (``{"error": code, "message": ...}`` with ``--json``), never a
traceback, and the exit code of :func:`exit_code_for`:

```
0  ok
1  the command ran and found a problem (verify, reconcile, db check, an unreachable or
   unmigrated database, a refused operation, a busy port)
2  usage or configuration error (bad option or GAMEPAY_* value, missing --env-file, unsafe
   settings for serve)
```
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from gamepay.config import Settings, load_settings
from gamepay.errors import GamepayError, InvalidInput
from gamepay.eventloop import run as run_loop
from gamepay.observability import configure_logging

if TYPE_CHECKING:
    from gamepay.kryptogo.client import KryptoGOClient
    from gamepay.store import Store

__all__ = [
    "JsonOption",
    "client_for",
    "console",
    "dump_json",
    "emit_json",
    "ensure_sqlite_dir",
    "err_console",
    "exit_code_for",
    "fail",
    "fold_table",
    "init_context",
    "open_store",
    "parse_when",
    "progress",
    "run",
    "settings_of",
    "sqlite_path",
]

T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead.")]
"""The ``--json`` flag every read command takes."""

console = Console(highlight=False)
"""Where tables go (stdout)."""
err_console = Console(stderr=True, highlight=False)
"""Where errors, warnings and progress go (stderr)."""

EXIT_PROBLEM = 1
"""The command ran and found a problem."""
EXIT_USAGE = 2
"""Usage or configuration error (the same code click uses for a bad option)."""


def exit_code_for(exc: GamepayError) -> int:
    """2 for bad input or configuration (``InvalidInput``, ``ConfigError``), else 1."""
    return EXIT_USAGE if isinstance(exc, InvalidInput) else EXIT_PROBLEM


def init_context(ctx: typer.Context, env_file: Path | None, log_level: str | None) -> None:
    """Load settings into ``ctx.obj`` and send logs to stderr in the configured format.

    ``env_file`` None reads ``./.env`` if it exists; an explicit file that does not exist is a
    usage error (exit 2), never silently ignored.
    """
    if env_file is not None and not env_file.exists():
        err_console.print(
            f"[red]error[/red]: --env-file {env_file} does not exist (or GAMEPAY_ENV_FILE)",
            markup=True,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_USAGE)
    overrides = {} if log_level is None else {"log_level": log_level}
    try:
        settings = load_settings(env_file if env_file is not None else ".env", **overrides)
    except GamepayError as exc:
        fail(exc, as_json=False)
    configure_logging(
        settings.log_level,
        settings.log_format,
        secrets=settings.secret_values(),
    )
    ctx.obj = settings


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root command loaded (or fresh ones when invoked bare, as in tests)."""
    root = ctx.find_root()
    if isinstance(root.obj, Settings):
        return root.obj
    settings = load_settings()
    root.obj = settings
    return settings


def run(coro: Coroutine[Any, Any, T], *, as_json: bool = False) -> T:
    """Run ``coro`` to completion; a ``GamepayError`` becomes a clean exit 1."""
    try:
        return run_loop(coro)
    except GamepayError as exc:
        fail(exc, as_json=as_json)


def fail(exc: GamepayError, *, as_json: bool) -> NoReturn:
    """Print ``exc`` on one line (JSON on stdout, or red on stderr); exit ``exit_code_for``."""
    message = " ".join(exc.message.split())
    if as_json:
        typer.echo(dump_json({"error": exc.code, "message": message}))
    else:
        err_console.print(f"[red]error[/red] ({exc.code}): {message}", markup=True, soft_wrap=True)
    raise typer.Exit(exit_code_for(exc))


def fold_table(table: Table) -> Table:
    """Make every cell of ``table`` fold onto more lines instead of ending in an ellipsis.

    Amounts are exact (``2**256 - 1`` base units has 78 digits): a table narrower than its
    content must never cut one. Returns ``table`` for chaining.
    """
    for column in table.columns:
        column.overflow = "fold"
    return table


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def dump_json(data: Any) -> str:
    """Serialize ``data`` for ``--json`` output (datetimes ISO, models dumped, big ints exact)."""
    return json.dumps(data, default=_default, ensure_ascii=False, sort_keys=False)


def emit_json(data: Any) -> None:
    """Print ``data`` as one JSON document on stdout."""
    typer.echo(dump_json(data))


def parse_when(value: str | None, *, option: str) -> datetime | None:
    """Parse an ISO date or datetime (naive means UTC) given to ``option``."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO date/time", param_hint=option) from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@contextmanager
def progress(*, disable: bool = False) -> Iterator[Progress]:
    """A rich progress bar on stderr for long work (hidden when ``disable``)."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=disable,
        transient=False,
    )
    with bar:
        yield bar


def ensure_sqlite_dir(url: str) -> None:
    """Create the directory of a SQLite database file if it is missing (no-op for PostgreSQL)."""
    if not url.startswith("sqlite"):
        return
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def client_for(settings: Settings) -> KryptoGOClient:
    """A KryptoGO client configured from ``settings``."""
    from gamepay.kryptogo.client import KryptoGOClient

    return KryptoGOClient(
        client_id=settings.kryptogo_client_id,
        api_key=settings.kryptogo_api_key.get_secret_value(),
        origin=settings.kryptogo_origin,
        base_url=settings.kryptogo_base_url,
        timeout=settings.kryptogo_timeout_s,
    )


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for PostgreSQL)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[-1].split("?", 1)[0]
    return Path(path).expanduser() if path and path != ":memory:" else None


@asynccontextmanager
async def open_store(
    settings: Settings, *, create: bool = False, check: bool = True
) -> AsyncIterator[Store]:
    """Connect to the configured database, which must be migrated; closed when the block ends.

    Only ``create=True`` (``gamepay db upgrade``) may create a SQLite file; otherwise a missing
    file is ``SchemaNotCurrent`` (exit 1, "run `gamepay db upgrade`") and nothing is created.
    ``check`` (not with ``create``) also requires the schema to be at this gamepay's revision.
    """
    from gamepay.errors import SchemaNotCurrent
    from gamepay.store import Store

    path = sqlite_path(settings.database_url)
    if create:
        ensure_sqlite_dir(settings.database_url)
    elif path is not None and not path.is_file():
        raise SchemaNotCurrent(f"no database at {path}: run `gamepay db upgrade` first")
    store = await Store.connect(settings.database_url)
    try:
        if check and not create:
            await store.require_schema()
        yield store
    finally:
        await store.close()
