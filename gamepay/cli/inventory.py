"""`gamepay inventory sweep`: post every expired lot of a time-limited grant back to its issuer."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gamepay.cli._common import JsonOption, console, emit_json, open_store, run, settings_of
from gamepay.config import Settings
from gamepay.inventory import Inventory
from gamepay.inventory.expiry import MAX_SWEEP
from gamepay.ledger import Ledger

__all__ = ["app", "sweep"]

app = typer.Typer(help="Gameplay inventory: time-limited lots.", no_args_is_help=True)


async def _sweep(settings: Settings, limit: int) -> dict[str, Any]:
    async with open_store(settings) as store:
        report = await Inventory(Ledger(store)).sweep(limit=limit)
    return {
        "expired": report.expired,
        "skipped": report.skipped,
        "by_asset": {asset: str(amount) for asset, amount in sorted(report.by_asset.items())},
        "more": report.more,
        "summary": report.summary(),
    }


@app.command()
def sweep(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_SWEEP, help="Lots expired in this run at most.")
    ] = 500,
    as_json: JsonOption = False,
) -> None:
    """Expire every lot due now (what serve's expiry job does each GAMEPAY_EXPIRY_SWEEP_S);
    safe to run again or beside serve: each lot is posted back once."""
    data = run(_sweep(settings_of(ctx), limit), as_json=as_json)
    if as_json:
        emit_json(data)
        return
    console.print(data["summary"])
