"""`gamepay rewards` commands: preview a period (dry run) or pay it, with a progress bar.

```
gamepay rewards preview --program loyalty.toml --period 2026-11-01 [--json | --csv] [--out F]
gamepay rewards run --program loyalty.toml --period 2026-11-01
gamepay rewards run --program loyalty.toml --due
gamepay rewards schema                     # the JSON Schema of GAMEPAY_REWARDS_FILE
gamepay rewards validate rewards.json      # check a rewards file (what `serve` pays on schedule)
```
The database URL comes from ``--db`` or ``GAMEPAY_DATABASE_URL``; it must be migrated
(``gamepay db upgrade``): these commands never create or migrate it. Exit codes as every
command's (docs/operations.md): 0 done, 1 a problem found (the pool is underfunded: what was
paid is in the table; fund the pool and run again to resume), 2 bad input or an open period.
With ``--json`` the reports are one JSON line on stdout and the table goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from gamepay.cli._common import dump_json, exit_code_for, fold_table, sqlite_path
from gamepay.errors import (
    GamepayError,
    PeriodNotClosed,
    PoolUnderfunded,
    RewardError,
    SchemaNotCurrent,
)
from gamepay.ledger import Ledger
from gamepay.rewards.periods import require_closed
from gamepay.rewards.preview import PreviewTotals, write_preview
from gamepay.rewards.programs import Program, load_program
from gamepay.rewards.programs_file import RewardsFileError, load_rewards_file, rewards_schema
from gamepay.rewards.reports import RunProgress, RunReport
from gamepay.rewards.runner import RewardRunner
from gamepay.store import Store

__all__ = ["app", "preview", "run", "schema", "validate"]

app = typer.Typer(help="Loyalty rewards: preview or pay a program's periods.", no_args_is_help=True)

DbOption = Annotated[
    str,
    typer.Option(
        "--db", envvar="GAMEPAY_DATABASE_URL", help="Database URL (sqlite:/// or postgresql://)."
    ),
]
ProgramOption = Annotated[
    Path, typer.Option("--program", help="Program file (.json or .toml).", dir_okay=False)
]


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date (YYYY-MM-DD): {value!r}") from exc


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise typer.BadParameter("--now needs a time zone offset, e.g. 2026-12-01T00:00:00+00:00")
    return parsed


def _fail(console: Console, exc: GamepayError, code: int | None = None) -> typer.Exit:
    """Print ``exc`` on one line; exit ``code`` or the documented code of its class."""
    message = " ".join(exc.message.split())
    console.print(f"[red]error[/red] ({exc.code}): {message}", soft_wrap=True)
    if code is None:
        code = 2 if isinstance(exc, PeriodNotClosed) else exit_code_for(exc)
    return typer.Exit(code)


async def _connect(db: str) -> Store:
    """Open a migrated database; never creates the SQLite file (``SchemaNotCurrent``)."""
    path = sqlite_path(db)
    if path is not None and not path.is_file():
        raise SchemaNotCurrent(f"no database at {path}: run `gamepay db upgrade` first")
    store = await Store.connect(db)
    try:
        await store.require_schema()
    except BaseException:
        await store.close()
        raise
    return store


async def _open(db: str) -> tuple[Store, Ledger]:
    store = await _connect(db)
    return store, Ledger(store)


def _totals_table(totals: PreviewTotals) -> Table:
    table = Table(title=f"preview {totals.program} {totals.period}")
    for column in ("period start (UTC)", "end (UTC)", "players seen", "rewarded", "total"):
        table.add_column(column, justify="right")
    table.add_row(
        totals.start,
        totals.end,
        str(totals.players_seen),
        str(totals.players),
        str(totals.total),
    )
    return table


def _report_table(reports: list[RunReport]) -> Table:
    table = Table(title="reward runs")
    for column in ("program", "period", "status", "players", "total", "paid", "paid amount"):
        table.add_column(column, justify="right")
    table.add_column("unpaid", justify="right")
    table.add_column("unpaid amount", justify="right")
    for r in reports:
        table.add_row(
            r.program,
            r.period,
            r.status,
            str(r.players),
            str(r.total),
            str(r.paid_count),
            str(r.paid_amount),
            str(r.unpaid_count),
            str(r.unpaid_amount),
        )
    return table


@app.command()
def preview(
    program: ProgramOption,
    period: Annotated[str, typer.Option("--period", help="A date in the period (YYYY-MM-DD).")],
    db: DbOption,
    as_json: Annotated[bool, typer.Option("--json", help="Write JSON (the default).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Write CSV.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Dry run: every would-be payout of one period, as JSON or CSV, and the totals."""
    err = Console(stderr=True)
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    fmt: Literal["json", "csv"] = "csv" if as_csv else "json"
    try:
        prog = load_program(program)
    except GamepayError as exc:
        raise _fail(err, exc) from exc
    day = _day(period)

    async def go() -> PreviewTotals:
        store = await _connect(db)
        try:
            target = prog.period(day)
            if out is None:
                return await write_preview(store, prog, target, sys.stdout, fmt)
            with out.open("w", encoding="utf-8", newline="") as handle:
                return await write_preview(store, prog, target, handle, fmt)
        finally:
            await store.close()

    try:
        totals = asyncio.run(go())
    except GamepayError as exc:
        raise _fail(err, exc) from exc
    err.print(fold_table(_totals_table(totals)))


@app.command()
def run(
    program: ProgramOption,
    db: DbOption,
    period: Annotated[
        str | None, typer.Option("--period", help="Pay the period containing this date.")
    ] = None,
    due: Annotated[
        bool, typer.Option("--due", help="Pay every closed period not paid yet.")
    ] = False,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1)] = 1000,
    now: Annotated[
        str | None, typer.Option("--now", help="Pretend it is this ISO time (for testing).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Also print the reports as one JSON line.")
    ] = False,
) -> None:
    """Pay one closed period (--period) or every due one (--due), exactly once."""
    console = Console()
    err = Console(stderr=True)
    if (period is None) == (not due):
        raise typer.BadParameter("give exactly one of --period DATE and --due")
    try:
        prog: Program = load_program(program)
    except GamepayError as exc:
        raise _fail(err, exc) from exc
    when = _now(now)
    day = None if period is None else _day(period)
    if day is not None:
        try:
            require_closed(prog.period(day), when)
        except RewardError as exc:
            raise _fail(err, exc) from exc

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[amount]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def on_progress(p: RunProgress) -> None:
            if p.period not in tasks:
                tasks[p.period] = bar.add_task(
                    f"{p.program} {p.period}", total=max(p.players, 1), amount=""
                )
            bar.update(
                tasks[p.period],
                completed=p.paid_count if p.players else 1,
                amount=f"{p.paid_amount}/{p.total}",
            )

        async def go() -> list[RunReport]:
            store, ledger = await _open(db)
            try:
                runner = RewardRunner(
                    store,
                    ledger,
                    prog,
                    clock=lambda: when if now is not None else datetime.now(UTC),
                    chunk_size=chunk_size,
                    progress=on_progress,
                )
                if day is not None:
                    return [await runner.run_period(day, now=when)]
                return await runner.run_due(when)
            finally:
                await store.close()

        try:
            reports = asyncio.run(go())
        except PoolUnderfunded as exc:
            bar.stop()
            if isinstance(exc.report, RunReport):
                (err if as_json else console).print(fold_table(_report_table([exc.report])))
            raise _fail(err, exc) from exc
        except GamepayError as exc:
            raise _fail(err, exc) from exc
    shown = (
        fold_table(_report_table(reports))
        if reports
        else "nothing due: every closed period is paid"
    )
    (err if as_json else console).print(shown)
    if as_json:
        typer.echo(dump_json([r.to_json() for r in reports]))


@app.command()
def schema() -> None:
    """Print the rewards file's JSON Schema (draft 2020-12): GAMEPAY_REWARDS_FILE's format."""
    typer.echo(json.dumps(rewards_schema(), indent=2))


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="The rewards JSON file to check.")],
) -> None:
    """Check a rewards file: exit 0 when valid, 2 with one line per problem otherwise."""
    try:
        programs = load_rewards_file(file)
    except RewardsFileError as exc:
        for line in exc.problems:
            typer.echo(f"{file}: {line}", err=True)
        raise typer.Exit(2) from None
    names = ", ".join(p.name for p in programs) or "none"
    typer.echo(f"{file}: ok, {len(programs)} program(s): {names}")
