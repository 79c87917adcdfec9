"""The players page (``/admin/players``): find a player, see exact balances and history.

``?id=<player id>`` shows that player's balances (available and held, exact, with each asset's
symbol and decimals), their ledger history newest first in pages (``cursor`` is the ledger's
own), their latest orders and withdrawals. Without an exact match it lists the ids starting
with what was typed.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamepay.core.accounts import player_account
from gamepay.errors import GamepayError
from gamepay_admin.reads import money, players_like
from gamepay_admin.web import Page, console_of, render, require_session

__all__ = ["HISTORY_PAGE", "PLAYERS"]

HISTORY_PAGE = 25
"""History entries per page."""

_MAX_ID = 190


async def players(request: Request) -> Response:
    """The search form, and the player's balances and history when one is found."""
    require_session(request)
    economy = console_of(request).economy
    wanted = request.query_params.get("id", "").strip()[:_MAX_ID]
    cursor = request.query_params.get("cursor") or None
    context: dict[str, Any] = {"title": "Players", "wanted": wanted, "player": None}
    if not wanted:
        return render(request, "players.html", context)
    try:
        account = player_account(wanted)
        balances = await economy.ledger.balances(account)  # NotFound: no such account
    except GamepayError:
        context["matches"] = await players_like(economy.store, wanted)
        return render(request, "players.html", context)
    try:
        page = await economy.ledger.history(account, cursor=cursor, limit=HISTORY_PAGE)
    except GamepayError:
        page = await economy.ledger.history(account, limit=HISTORY_PAGE)  # a stale cursor
        cursor = None
    assets = await economy.ledger.get_assets({*balances, *(entry.asset for entry in page.entries)})
    rows = [
        {
            "asset_id": asset_id,
            "available": money(balance.available, assets.get(asset_id), asset_id),
            "held": money(balance.held, assets.get(asset_id), asset_id),
        }
        for asset_id, balance in sorted(balances.items())
    ]
    history = [
        {
            "when": entry.created_at,
            "id": entry.id,
            "kind": str(entry.kind),
            "amount": ("+" if entry.credit == account else "-")
            + money(entry.amount, assets.get(entry.asset), entry.asset),
            "other": entry.debit if entry.credit == account else entry.credit,
            "memo": entry.memo or "",
        }
        for entry in page.entries
    ]
    orders = (await economy.payments.orders_for(wanted))[-10:][::-1]
    withdrawals = (await economy.withdrawals.list(player_id=wanted))[-10:][::-1]
    context.update(
        player=wanted,
        balances=rows,
        history=history,
        cursor=cursor,
        next_cursor=page.next_cursor,
        orders=orders,
        withdrawals=[
            {"w": w, "amount": money(w.amount, assets.get(w.asset_id), w.asset_id)}
            for w in withdrawals
        ],
    )
    return render(request, "players.html", context)


PLAYERS = Page("Players", "/players", [Route("/players", players, methods=["GET"])])
"""The players page's nav entry and routes."""
