"""The orders page (``/admin/orders``): filter by status and time, an order's details, and a
reconcile-this-order action (``Payments.reconcile_order``: the intent fetched from KryptoGO,
compared and repaired through the same ``apply`` as callbacks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamepay.core.intents import OrderStatus
from gamepay.errors import GamepayError, OrderNotFound
from gamepay.payments.grants import decode_parts
from gamepay_admin.reads import money, order_page, order_status_log
from gamepay_admin.web import Page, audit, checked_form, console_of, render, require_session

__all__ = ["ORDERS", "ORDERS_PAGE"]

ORDERS_PAGE = 50
"""Orders per page."""


def _day(text: str | None, name: str) -> date | None:
    """A ``YYYY-MM-DD`` query parameter, or None; 400 when malformed."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"{name} must be a day such as 2026-01-31") from None


async def orders(request: Request) -> Response:
    """Orders matching the filters (status, created from/to, UTC days), newest first."""
    require_session(request)
    economy = console_of(request).economy
    params = request.query_params
    status = params.get("status") or ""
    if status and status not in {str(s) for s in OrderStatus}:
        raise HTTPException(400, "not an order status")
    start, end = _day(params.get("from"), "from"), _day(params.get("to"), "to")
    try:
        page = max(int(params.get("page", "1")), 1)
    except ValueError:
        page = 1
    found = await order_page(
        economy.store,
        status=status or None,
        since=datetime.combine(start, time(), UTC) if start else None,
        until=datetime.combine(end + timedelta(days=1), time(), UTC) if end else None,
        offset=(page - 1) * ORDERS_PAGE,
        limit=ORDERS_PAGE + 1,
    )
    context: dict[str, Any] = {
        "title": "Orders",
        "statuses": [str(s) for s in OrderStatus],
        "status": status,
        "start": start.isoformat() if start else "",
        "end": end.isoformat() if end else "",
        "orders": found[:ORDERS_PAGE],
        "page": page,
        "more": len(found) > ORDERS_PAGE,
    }
    return render(request, "orders.html", context)


async def _detail(request: Request, order_id: str, extra: dict[str, Any]) -> Response:
    economy = console_of(request).economy
    try:
        order = await economy.payments.order(order_id)
    except OrderNotFound:
        raise HTTPException(404, "no such order") from None
    if order.grant_parts is not None:
        parts = [(g.asset_id, g.amount) for g in decode_parts(order.grant_parts)]
    elif order.grant_asset_id is not None and order.grant_amount is not None:
        parts = [(order.grant_asset_id, order.grant_amount)]
    else:
        parts = []
    asset_ids = {a for a in (order.price_asset_id, *(p[0] for p in parts)) if a}
    assets = await economy.ledger.get_assets(asset_ids)

    def amount(units: int | None, asset_id: str | None) -> str:
        if units is None or asset_id is None:
            return ""
        return money(units, assets.get(asset_id), asset_id)

    def crypto(units: int | None) -> str:
        if units is None or order.decimals is None:
            return ""
        from gamepay.core.money import format_amount

        return f"{format_amount(units, order.decimals)} {order.symbol or ''}".strip()

    fields = [
        ("Player", order.player_id),
        ("Kind", str(order.kind)),
        ("Status", str(order.status)),
        ("SKU", order.sku or ""),
        ("Request id", order.request_id or ""),
        ("Price", amount(order.price_amount, order.price_asset_id)),
        ("Grants", ", ".join(amount(units, asset_id) for asset_id, units in parts)),
        ("Granted", "yes" if order.granted else "no"),
        ("Fiat", f"{order.fiat_amount or ''} {order.fiat_currency or ''}".strip()),
        ("Payment intent", order.payment_intent_id or ""),
        ("Chain", order.chain_id or ""),
        ("Token", order.token_address or ""),
        ("Quoted", crypto(order.crypto_amount)),
        ("Pay to", order.payment_address or ""),
        (
            "Deadline (UTC)",
            datetime.fromtimestamp(order.payment_deadline, UTC).strftime("%Y-%m-%d %H:%M:%S")
            if order.payment_deadline
            else "",
        ),
        ("Received", crypto(order.received_amount)),
        ("Aggregated", crypto(order.aggregated_amount)),
        ("Settled", crypto(order.settled_amount) if order.decimals is not None else ""),
        ("Payment tx", order.payment_tx_hash or ""),
        ("Refund", crypto(order.refund_amount)),
        ("Refund tx", order.refund_tx_hash or ""),
        ("Created (UTC)", order.created_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("Updated (UTC)", order.updated_at.strftime("%Y-%m-%d %H:%M:%S")),
    ]
    context: dict[str, Any] = {
        "title": f"Order {order.id}",
        "order": order,
        "fields": [(name, value) for name, value in fields if value],
        "moves": await order_status_log(economy.store, order.id),
        "can_reconcile": order.kind != "balance",
        **extra,
    }
    return render(request, "order.html", context)


async def order_detail(request: Request) -> Response:
    """One order: its fields, the intent's details and every status move applied."""
    require_session(request)
    return await _detail(request, request.path_params["order_id"], {})


async def reconcile_order(request: Request) -> Response:
    """Reconcile one order with KryptoGO now and show what it found (POST, CSRF-checked)."""
    await checked_form(request)
    session = require_session(request)
    order_id = request.path_params["order_id"]
    economy = console_of(request).economy
    try:
        report = await economy.payments.reconcile_order(order_id)
    except OrderNotFound:
        raise HTTPException(404, "no such order") from None
    except GamepayError as exc:
        await audit(request, session, "orders.reconcile", order_id, {}, error=exc.code)
        return await _detail(request, order_id, {"error": f"Reconcile failed: {exc.code}"})
    kinds = [m.kind for m in report.mismatches]
    await audit(request, session, "orders.reconcile", order_id, {"mismatches": kinds})
    if not report.mismatches:
        notice = "Reconciled: the order agrees with KryptoGO."
    else:
        notice = "Reconciled: " + "; ".join(
            f"{m.kind} ({m.outcome}{': ' + m.detail if m.detail else ''})"
            for m in report.mismatches
        )
    return await _detail(request, order_id, {"notice": notice})


ORDERS = Page(
    "Orders",
    "/orders",
    [
        Route("/orders", orders, methods=["GET"]),
        Route("/orders/{order_id}", order_detail, methods=["GET"]),
        Route("/orders/{order_id}/reconcile", reconcile_order, methods=["POST"]),
    ],
)
"""The orders page's nav entry and routes."""
