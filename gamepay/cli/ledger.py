"""`gamepay balance`, `gamepay history`, `gamepay verify`: read the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.table import Table

from gamepay.cli._common import (
    JsonOption,
    console,
    emit_json,
    fold_table,
    open_store,
    progress,
    run,
    settings_of,
)
from gamepay.config import Settings
from gamepay.core.accounts import player_account
from gamepay.core.money import format_amount
from gamepay.ledger import Ledger, TransferRecord, asset_code

__all__ = ["AssetInfo", "asset_infos", "balance", "history", "verify"]


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """What the CLI needs to show an asset: its code (symbol/sku) and decimals."""

    id: str
    code: str
    decimals: int

    def show(self, amount: int) -> str:
        """``amount`` base units as a decimal string."""
        return format_amount(amount, self.decimals) if amount >= 0 else "-" + self.show(-amount)


async def asset_infos(ledger: Ledger) -> dict[str, AssetInfo]:
    """Every registered asset by id."""
    assets = await ledger.get_assets()
    return {a.id: AssetInfo(a.id, asset_code(a), a.decimals) for a in assets.values()}


def _info(infos: dict[str, AssetInfo], asset: str) -> AssetInfo:
    return infos.get(asset, AssetInfo(asset, asset, 0))


def _amount(infos: dict[str, AssetInfo], asset: str, amount: int) -> str:
    return _info(infos, asset).show(amount) if amount else "0"


# -- balance -------------------------------------------------------------------------------------
async def _balance(settings: Settings, player: str) -> dict[str, Any]:
    async with open_store(settings) as store:
        ledger = Ledger(store)
        account = player_account(player)
        balances = await ledger.balances(account)
        infos = await asset_infos(ledger)
    rows = []
    for asset, bal in balances.items():
        info = _info(infos, asset)
        rows.append(
            {
                "asset": asset,
                "code": info.code,
                "decimals": info.decimals,
                "available": _amount(infos, asset, bal.available),
                "held": _amount(infos, asset, bal.held),
                "available_units": str(bal.available),
                "held_units": str(bal.held),
            }
        )
    return {"player": player, "account": account, "balances": rows}


def balance(
    ctx: typer.Context,
    player: Annotated[str, typer.Argument(help="The player id (account player:<id>).")],
    as_json: JsonOption = False,
) -> None:
    """Show a player's balances in every asset: available and held by pending withdrawals."""
    data = run(_balance(settings_of(ctx), player), as_json=as_json)
    if as_json:
        emit_json(data)
        return
    table = Table("asset", "code", "available", "held", title=f"balances of {player}")
    for row in data["balances"]:
        table.add_row(row["asset"], row["code"], row["available"], row["held"])
    if not data["balances"]:
        table.caption = "no balances yet"
    console.print(fold_table(table))


# -- history -------------------------------------------------------------------------------------
def _entry(infos: dict[str, AssetInfo], account: str, t: TransferRecord) -> dict[str, Any]:
    sign = -1 if t.debit == account else 1
    return {
        "id": t.id,
        "created_at": t.created_at.isoformat(),
        "kind": str(t.kind),
        "asset": t.asset,
        "code": _info(infos, t.asset).code,
        "change": _amount(infos, t.asset, sign * t.amount),
        "change_units": str(sign * t.amount),
        "counterparty": t.credit if sign < 0 else t.debit,
        "memo": t.memo,
    }


async def _history(
    settings: Settings, player: str, limit: int, cursor: str | None, asset: str | None
) -> dict[str, Any]:
    async with open_store(settings) as store:
        ledger = Ledger(store)
        account = player_account(player)
        page = await ledger.history(account, asset_id=asset, cursor=cursor, limit=limit)
        infos = await asset_infos(ledger)
    return {
        "player": player,
        "account": account,
        "entries": [_entry(infos, account, t) for t in page.entries],
        "next_cursor": page.next_cursor,
    }


def history(
    ctx: typer.Context,
    player: Annotated[str, typer.Argument(help="The player id.")],
    limit: Annotated[int, typer.Option(min=1, max=500, help="Entries per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    asset: Annotated[str | None, typer.Option(help="Only this asset id.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a player's ledger history, newest first (page with --cursor)."""
    data = run(_history(settings_of(ctx), player, limit, cursor, asset), as_json=as_json)
    if as_json:
        emit_json(data)
        return
    table = Table("when", "kind", "change", "asset", "counterparty", title=f"history of {player}")
    for e in data["entries"]:
        table.add_row(e["created_at"][:19], e["kind"], e["change"], e["code"], e["counterparty"])
    if data["next_cursor"]:
        table.caption = f"more: --cursor {data['next_cursor']}"
    console.print(fold_table(table))


# -- verify --------------------------------------------------------------------------------------
async def _verify(settings: Settings, show_progress: bool) -> dict[str, Any]:
    async with open_store(settings) as store:
        count = await Ledger(store).count_transfers()
        with progress(disable=not show_progress) as bar:
            task = bar.add_task(f"recomputing balances from {count} transfers", total=1)
            report = await Ledger(store).verify()
            bar.advance(task)
    return {
        "ok": report.ok,
        "problems": list(report.problems),
        "balances_checked": report.balances_checked,
        "transfers_checked": report.transfers_checked,
    }


def verify(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Recompute every balance from the transfers; exit 1 if anything does not match."""
    data = run(_verify(settings_of(ctx), show_progress=not as_json), as_json=as_json)
    if as_json:
        emit_json(data)
    elif data["ok"]:
        console.print(
            f"[green]ledger verified[/green]: {data['balances_checked']} balances, "
            f"{data['transfers_checked']} transfers"
        )
    else:
        for problem in data["problems"]:
            console.print(f"[red]problem[/red] {problem}")
    if not data["ok"]:
        raise typer.Exit(1)
