"""`gamepay withdrawals list/resolve/reconcile/recover`: inspect withdrawals, settle unknown ones.

``reconcile --from-export FILE`` reads the Studio's transfer export (CSV or JSON; the columns are
in ``gamepay.withdrawals.export`` and ``docs/operations.md``) and settles every ``unknown`` (or
stuck ``sending``) withdrawal it can match without guessing; ``--dry-run`` only shows the plan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from gamepay.cli._common import (
    JsonOption,
    client_for,
    console,
    emit_json,
    fold_table,
    open_store,
    run,
    settings_of,
)
from gamepay.config import Settings
from gamepay.core.money import format_amount
from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.ledger import Ledger
from gamepay.withdrawals import Withdrawal, Withdrawals
from gamepay.withdrawals.export import read_export
from gamepay.withdrawals.matching import DEFAULT_WINDOW

__all__ = ["app", "withdrawal_view"]

app = typer.Typer(
    help="Withdrawals: list them, resolve or reconcile unknown outcomes.", no_args_is_help=True
)


def withdrawal_view(w: Withdrawal) -> dict[str, Any]:
    """A withdrawal as JSON-ready data (amount as a decimal string of its token)."""
    return {
        "withdrawal_id": w.id,
        "player_id": w.player_id,
        "status": str(w.status),
        "asset": w.asset_id,
        "chain_id": w.chain_id,
        "amount": format_amount(w.amount, w.decimals),
        "amount_units": str(w.amount),
        "address": w.address,
        "reference": w.reference,
        "transfer_id": w.transfer_id,
        "tx_hash": w.tx_hash,
        "error": w.error,
        "created_at": w.created_at.isoformat(),
        "updated_at": w.updated_at.isoformat(),
    }


@asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[Withdrawals]:
    async with open_store(settings) as store, client_for(settings) as client:
        from gamepay.economy import withdrawals_config

        yield Withdrawals(store, Ledger(store), client, config=withdrawals_config(settings))


async def _list(settings: Settings, status: str | None, player: str | None) -> list[dict[str, Any]]:
    async with _service(settings) as service:
        return [withdrawal_view(w) for w in await service.list(status=status, player_id=player)]


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            help="Only this status (" + ", ".join(s.value for s in WithdrawalStatus) + ")."
        ),
    ] = None,
    player: Annotated[str | None, typer.Option(help="Only this player's withdrawals.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List withdrawals, oldest first (``--status unknown``: those awaiting an operator)."""
    rows = run(_list(settings_of(ctx), status, player), as_json=as_json)
    if as_json:
        emit_json(rows)
        return
    table = Table("player", "status", "amount", "to", "tx")
    table.add_column("withdrawal", no_wrap=True)
    for r in rows:
        table.add_row(
            r["player_id"],
            r["status"],
            f"{r['amount']} ({r['chain_id']})",
            r["address"],
            r["tx_hash"] or "",
            r["withdrawal_id"],
        )
    table.caption = f"{len(rows)} withdrawal(s)"
    console.print(fold_table(table))


async def _resolve(
    settings: Settings, withdrawal_id: str, sent: bool, tx_hash: str | None, transfer_id: str | None
) -> dict[str, Any]:
    async with _service(settings) as service:
        done = await service.resolve(
            withdrawal_id, sent=sent, tx_hash=tx_hash, transfer_id=transfer_id
        )
    return withdrawal_view(done)


def _outcome(value: str) -> str:
    if value not in ("sent", "failed"):
        raise typer.BadParameter("must be 'sent' or 'failed'")
    return value


@app.command()
def resolve(
    ctx: typer.Context,
    withdrawal_id: Annotated[str, typer.Argument(help="The withdrawal id.")],
    outcome: Annotated[
        str,
        typer.Option(
            callback=_outcome,
            help="What KryptoGO's records say: 'sent' posts the hold, 'failed' returns the funds.",
        ),
    ],
    tx_hash: Annotated[str | None, typer.Option(help="The transfer's tx hash, if sent.")] = None,
    transfer_id: Annotated[str | None, typer.Option(help="KryptoGO's transfer id.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Settle a withdrawal whose transfer outcome is unknown, after checking KryptoGO Studio."""
    view = run(
        _resolve(settings_of(ctx), withdrawal_id, outcome == "sent", tx_hash, transfer_id),
        as_json=as_json,
    )
    if as_json:
        emit_json(view)
    else:
        console.print(f"withdrawal {view['withdrawal_id']} is now {view['status']}")


def _record_view(record: Any) -> dict[str, Any]:
    fields = ("transfer_id", "tx_hash", "wallet_address", "amount", "executed_at", "status")
    return {name: getattr(record, name, None) for name in fields}


async def _reconcile(
    settings: Settings, path: str, dry_run: bool, absent_means_failed: bool, window: int
) -> dict[str, Any]:
    records = read_export(path)  # refused whole before anything is touched
    async with _service(settings) as service:
        report = await service.reconcile_unknown(
            records,
            absent_means_failed=absent_means_failed,
            window=timedelta(minutes=window),
            dry_run=dry_run,
        )
    rows = []
    for action, items in (
        ("sent", report.sent),
        ("failed", report.failed),
        ("ambiguous", report.ambiguous),
        ("mismatched", report.mismatched),
        ("no_record", report.still_unknown),
    ):
        for w in items:
            view = withdrawal_view(w)
            view["action"] = action
            view["candidates"] = [_record_view(r) for r in report.candidates.get(w.id, ())]
            rows.append(view)
    return {"dry_run": dry_run, "records": len(records), "withdrawals": rows}


@app.command()
def reconcile(
    ctx: typer.Context,
    from_export: Annotated[
        str, typer.Option("--from-export", help="The Studio's transfer export (CSV or JSON).")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")
    ] = False,
    absent_means_failed: Annotated[
        bool,
        typer.Option(
            "--absent-means-failed",
            help="The export is complete for the period: an unknown withdrawal with no "
            "matching transfer is failed (its funds returned).",
        ),
    ] = False,
    window_minutes: Annotated[
        int, typer.Option(min=1, help="How long after a withdrawal its transfer may appear.")
    ] = int(DEFAULT_WINDOW.total_seconds() // 60),
    as_json: JsonOption = False,
) -> None:
    """Settle unknown withdrawals from the Studio's transfer export, without guessing.

    A withdrawal is matched by KryptoGO transfer id or tx hash, else by chain, token, wallet
    and exact amount within the window: one candidate settles it as sent; several (or none,
    unless --absent-means-failed) leave it for `resolve`, with the candidates listed.
    """
    data = run(
        _reconcile(settings_of(ctx), from_export, dry_run, absent_means_failed, window_minutes),
        as_json=as_json,
    )
    if as_json:
        emit_json(data)
        return
    verb = "would be" if data["dry_run"] else "now"
    table = Table("withdrawal", "player", "amount", "to", f"{verb}", "candidates")
    for r in data["withdrawals"]:
        candidates = ", ".join(c["transfer_id"] or c["tx_hash"] or "?" for c in r["candidates"])
        table.add_row(
            r["withdrawal_id"],
            r["player_id"],
            f"{r['amount']} ({r['chain_id']})",
            r["address"],
            r["action"],
            candidates,
        )
    table.caption = (
        f"{len(data['withdrawals'])} unsettled withdrawal(s) against {data['records']} "
        f"exported transfer(s){' (dry run: nothing changed)' if data['dry_run'] else ''}"
    )
    console.print(table)


async def _recover(settings: Settings) -> dict[str, Any]:
    async with _service(settings) as service:
        report = await service.recover()
    return {
        "unknown": [withdrawal_view(w) for w in report.unknown],
        "voided": [withdrawal_view(w) for w in report.failed],
    }


@app.command()
def recover(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """After a crash, with every replica stopped: withdrawals caught mid-send become unknown
    (hold kept, resolve them), those held but never sent are voided (funds returned)."""
    data = run(_recover(settings_of(ctx)), as_json=as_json)
    if as_json:
        emit_json(data)
        return
    console.print(
        f"{len(data['unknown'])} withdrawal(s) now unknown (resolve them), "
        f"{len(data['voided'])} voided (funds returned)"
    )
