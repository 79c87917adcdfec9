"""The overview page (``/admin/``): the economy at a glance, and the ledger's health.

Counts now (orders, withdrawals by status, reward payouts by program) and per-day charts over
the last :data:`DAYS` UTC days (orders by status, grants, callbacks, withdrawals by status,
reward payouts), drawn server-side as SVG (``gamepay_admin.charts``). The ledger's last verify
result is stored in the database (``Ledger.last_verification``), so every replica shows the
same one; the button runs ``Ledger.verify()`` now and records it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gamepay_admin.charts import days_back, legend, series_of, stacked_bars
from gamepay_admin.reads import daily_figures, totals
from gamepay_admin.web import (
    PREFIX,
    Page,
    audit,
    checked_form,
    console_of,
    render,
    require_session,
)

__all__ = ["DAYS", "OVERVIEW"]

DAYS = 14
"""How many days the charts cover (today included, UTC)."""

log = logging.getLogger("gamepay.admin")

_CHARTS = (
    ("orders", "Orders created, by status"),
    ("grants", "Grants (ledger transfers of kind grant), by asset"),
    ("callbacks", "Callbacks applied, by the status they moved to"),
    ("withdrawals", "Withdrawals requested, by status"),
    ("payouts", "Reward payouts paid, by program"),
)


async def overview(request: Request) -> Response:
    """Counts, charts and the ledger's last verify result."""
    require_session(request)
    economy = console_of(request).economy
    now = datetime.now(UTC)
    days = days_back(now.date(), DAYS)
    since = datetime.fromisoformat(days[0]).replace(tzinfo=UTC)
    daily = await daily_figures(economy.store, since)
    charts: list[dict[str, Any]] = []
    for name, title in _CHARTS:
        series = series_of(getattr(daily, name), days)
        charts.append(
            {
                "name": name,
                "title": title,
                "svg": stacked_bars(title, days, series),
                "legend": legend(series),
                "empty": not any(s.total for s in series),
            }
        )
    context = {
        "title": "Overview",
        "totals": await totals(economy.store),
        "charts": charts,
        "first_day": days[0],
        "verification": await economy.ledger.last_verification(),
        "verify_notice": request.query_params.get("verified"),
    }
    return render(request, "overview.html", context)


async def verify_now(request: Request) -> Response:
    """Run ``Ledger.verify()`` now, record the result, back to the overview (POST + CSRF)."""
    await checked_form(request)
    session = require_session(request)
    ledger = console_of(request).economy.ledger
    started = datetime.now(UTC)
    report = await ledger.verify()
    await ledger.record_verification(report, started_at=started, by="console")
    took = datetime.now(UTC) - started
    details = {"ok": report.ok, "problems": len(report.problems)}
    await audit(request, session, "ledger.verify", "ledger", details)
    log.info(
        "console: ledger verify %s in %.1fs (%d problems)",
        "ok" if report.ok else "FAILED",
        took / timedelta(seconds=1),
        len(report.problems),
    )
    return RedirectResponse(f"{PREFIX}/?verified={'ok' if report.ok else 'failed'}", 303)


OVERVIEW = Page(
    "Overview",
    "/",
    [Route("/", overview, methods=["GET"]), Route("/verify", verify_now, methods=["POST"])],
)
"""The overview page's nav entry and routes."""
