"""`gamepay intents list/show/close-stuck` and `gamepay reconcile`: orders and their intents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from gamepay.cli._common import (
    JsonOption,
    client_for,
    console,
    emit_json,
    fold_table,
    open_store,
    parse_when,
    progress,
    run,
    settings_of,
)
from gamepay.config import Settings
from gamepay.core.intents import OrderStatus
from gamepay.core.money import format_amount
from gamepay.errors import OrderNotFound
from gamepay.payments import repository as q
from gamepay.payments.records import Order

if TYPE_CHECKING:
    from gamepay.kryptogo.client import KryptoGOClient
    from gamepay.payments import Payments
    from gamepay.store import Store

__all__ = ["app", "close_stuck", "order_view", "reconcile"]

app = typer.Typer(help="Orders and their KryptoGO payment intents.", no_args_is_help=True)


def _units(amount: int | None, decimals: int | None) -> str | None:
    if amount is None:
        return None
    return format_amount(amount, decimals or 0) if amount > 0 else "0"


def order_view(order: Order) -> dict[str, Any]:
    """An order as JSON-ready data (crypto amounts as decimal strings of the intent's token)."""
    return {
        "order_id": order.id,
        "player_id": order.player_id,
        "kind": str(order.kind),
        "status": str(order.status),
        "sku": order.sku,
        "fiat_amount": order.fiat_amount,
        "fiat_currency": order.fiat_currency,
        "payment_intent_id": order.payment_intent_id,
        "chain_id": order.chain_id,
        "symbol": order.symbol,
        "crypto_amount": _units(order.crypto_amount, order.decimals),
        "received_amount": _units(order.received_amount, order.decimals),
        "refund_amount": _units(order.refund_amount, order.decimals),
        "payment_address": order.payment_address,
        "payment_deadline": order.payment_deadline,
        "payment_tx_hash": order.payment_tx_hash,
        "granted": order.granted,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
    }


async def _list(
    settings: Settings,
    status: str | None,
    player: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    wanted = None if status is None else OrderStatus(status)
    async with open_store(settings) as store:
        orders = await store.read(
            lambda conn: q.list_orders(
                conn, status=wanted, player_id=player, since=since, until=until, limit=limit
            )
        )
    return [order_view(order) for order in orders]


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(help="Only this status (" + ", ".join(s.value for s in OrderStatus) + ")."),
    ] = None,
    player: Annotated[str | None, typer.Option(help="Only this player's orders.")] = None,
    since: Annotated[str | None, typer.Option(help="Created at or after (ISO date/time).")] = None,
    until: Annotated[str | None, typer.Option(help="Created before (ISO date/time).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonOption = False,
) -> None:
    """List orders (purchases, top-ups, balance buys) and their intents, newest first."""
    if status is not None and status not in {s.value for s in OrderStatus}:
        raise typer.BadParameter(f"unknown status {status!r}", param_hint="--status")
    rows = run(
        _list(
            settings_of(ctx),
            status,
            player,
            parse_when(since, option="--since"),
            parse_when(until, option="--until"),
            limit,
        ),
        as_json=as_json,
    )
    if as_json:
        emit_json(rows)
        return
    table = Table("player", "kind", "status", "sku", "amount", "granted")
    table.add_column("order", no_wrap=True)
    table.add_column("intent", no_wrap=True)
    for r in rows:
        amount = f"{r['crypto_amount']} {r['symbol']}" if r["crypto_amount"] else ""
        table.add_row(
            r["player_id"],
            r["kind"],
            r["status"],
            r["sku"] or "",
            amount,
            "yes" if r["granted"] else "",
            r["order_id"],
            r["payment_intent_id"] or "",
        )
    table.caption = f"{len(rows)} order(s)"
    console.print(fold_table(table))


async def _show(settings: Settings, key: str, remote: bool) -> dict[str, Any]:
    async with open_store(settings) as store:
        order = await store.read(lambda conn: q.find_order(conn, key))
    if order is None:
        raise OrderNotFound(f"no order or intent {key[:80]!r}")
    view = order_view(order)
    if remote and view["payment_intent_id"]:
        async with client_for(settings) as client:
            intent = await client.get_intent(view["payment_intent_id"])
        view["remote"] = intent.to_wire()
    return view


@app.command()
def show(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="An order id or a payment intent id.")],
    remote: Annotated[
        bool, typer.Option("--remote", help="Also fetch the intent from KryptoGO.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show one order and its intent (with --remote, as KryptoGO has it now)."""
    view = run(_show(settings_of(ctx), key, remote), as_json=as_json)
    if as_json:
        emit_json(view)
        return
    table = Table("field", "value", title=f"order {view['order_id']}", show_header=False)
    for name, value in view.items():
        if name != "remote":
            table.add_row(name, "" if value is None else str(value))
    console.print(fold_table(table))
    if "remote" in view:
        remote_table = Table("field", "value", title="at KryptoGO", show_header=False)
        for name, value in view["remote"].items():
            remote_table.add_row(name, "" if value is None else str(value))
        console.print(fold_table(remote_table))


# -- reconcile -------------------------------------------------------------------------------------
def _payments(settings: Settings, store: Store, client: KryptoGOClient) -> Payments:
    """The payments service as the CLI runs it: the catalog and timeouts ``serve`` uses."""
    from gamepay.cli.catalog import catalog_for
    from gamepay.ledger import Ledger
    from gamepay.payments import Payments, PaymentsConfig

    config = PaymentsConfig(
        callback_url=settings.callback_public_url,
        creating_timeout=settings.creating_timeout_s,
    )
    return Payments(store, Ledger(store), client, catalog_for(settings), config=config)


async def _reconcile(
    settings: Settings, since: datetime, until: datetime, bar: bool
) -> dict[str, Any]:
    async with open_store(settings) as store, client_for(settings) as client:
        payments = _payments(settings, store, client)
        with progress(disable=not bar) as bars:
            task = bars.add_task(
                f"reconciling {since:%Y-%m-%d %H:%M} .. {until:%Y-%m-%d %H:%M}", total=1
            )
            report = await payments.reconcile(since, until)
            bars.advance(task)
    outcomes = report.outcomes()
    return {
        "since": report.since,
        "until": report.until,
        "listed": report.listed,
        "checked": report.checked,
        "repaired": report.repaired,
        "needs_operator": outcomes["operator"],
        "errors": outcomes["error"],
        "waiting": outcomes["waiting"],
        "ok": report.ok,
        "mismatches": [
            {
                "kind": m.kind,
                "outcome": str(m.outcome),
                "payment_intent_id": m.payment_intent_id,
                "order_id": m.order_id,
                "local": m.local,
                "remote": m.remote,
                "repaired": m.repaired,
                "detail": m.detail,
            }
            for m in report.mismatches
        ],
    }


_OUTCOME_STYLE = {"repaired": "green", "operator": "red", "error": "red", "waiting": "yellow"}


def reconcile(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="Window start (ISO date/time, UTC if naive).")],
    until: Annotated[
        str | None, typer.Option(help="Window end (ISO date/time; default now).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compare KryptoGO's intents in a window with our orders; repair and report mismatches.

    Each mismatch is repaired, needs an operator, an error (run again) or waiting (a creating
    order younger than GAMEPAY_CREATING_TIMEOUT_S). Exit code 0 when nothing needs an operator
    and nothing failed, 1 otherwise (docs/operations.md says what to do for each).
    """
    start = parse_when(since, option="--since")
    assert start is not None
    # Default: up to now, this very second included (the window is [since, until)).
    end = parse_when(until, option="--until") or datetime.now(UTC) + timedelta(seconds=1)
    if end <= start:
        raise typer.BadParameter("--until must be after --since", param_hint="--until")
    data = run(_reconcile(settings_of(ctx), start, end, not as_json), as_json=as_json)
    if as_json:
        emit_json(data)
    else:
        console.print(
            f"listed {data['listed']} intents, matched {data['checked']}; "
            f"repaired {data['repaired']}, needs an operator {data['needs_operator']}, "
            f"errors {data['errors']}, waiting {data['waiting']}"
        )
        if data["mismatches"]:
            table = Table("outcome", "kind", "intent", "order", "local", "remote", "detail")
            for m in data["mismatches"]:
                style = _OUTCOME_STYLE[m["outcome"]]
                table.add_row(
                    f"[{style}]{m['outcome']}[/{style}]",
                    m["kind"],
                    m["payment_intent_id"] or "",
                    m["order_id"] or "",
                    m["local"] or "",
                    m["remote"] or "",
                    m["detail"] or "",
                )
            console.print(table)
    if not data["ok"]:
        raise typer.Exit(1)


# -- close-stuck -----------------------------------------------------------------------------------
async def _close_stuck(settings: Settings, dry_run: bool, limit: int) -> dict[str, Any]:
    async with open_store(settings) as store, client_for(settings) as client:
        report = await _payments(settings, store, client).close_stuck(dry_run=dry_run, limit=limit)
    actions = ("linked", "closed", "waiting", "refused", "error")
    return {
        "dry_run": report.dry_run,
        "timeout_s": settings.creating_timeout_s,
        **{action: report.count(action) for action in actions},
        "ok": report.ok,
        "orders": [
            {
                "order_id": o.order_id,
                "player_id": o.player_id,
                "created_at": o.created_at.isoformat(),
                "action": o.action,
                "detail": o.detail,
            }
            for o in report.orders
        ],
    }


@app.command("close-stuck")
def close_stuck(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be done; write nothing.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Resolve orders stuck in `creating`: link the intent found for each, else close it.

    Each order's intent is looked up at KryptoGO first (through its order_data), so an order
    whose intent exists is linked, never closed; only an order with no intent, older than
    GAMEPAY_CREATING_TIMEOUT_S and with no create attempt in flight becomes `failed`.
    Exit code 1 when an order could not be checked or its intent was refused.
    """
    data = run(_close_stuck(settings_of(ctx), dry_run, limit), as_json=as_json)
    if as_json:
        emit_json(data)
    else:
        verb = "would be" if data["dry_run"] else "were"
        console.print(
            f"{len(data['orders'])} creating order(s): {data['linked']} linked, "
            f"{data['closed']} closed, {data['waiting']} waiting, {data['refused']} refused, "
            f"{data['error']} error(s) ({verb} done; timeout {data['timeout_s']:.0f}s)"
        )
        if data["orders"]:
            table = Table("action", "player", "created", "detail")
            table.add_column("order", no_wrap=True)
            for o in data["orders"]:
                table.add_row(
                    o["action"], o["player_id"], o["created_at"], o["detail"] or "", o["order_id"]
                )
            console.print(table)
    if not data["ok"]:
        raise typer.Exit(1)
