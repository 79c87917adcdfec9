"""The reward runs page (``/admin/rewards``): each program of the economy, its periods run, a
run's payouts (paged), and a preview of the next period.

Read-only, through ``gamepay.rewards.overview`` (the runs and payouts from the rewards'
repository, the preview from the same query a run uses). The programs are the economy's
(``Economy.rewards``: the ``GAMEPAY_REWARDS_FILE`` programs under ``gamepay serve``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamepay.core.assets import Asset
from gamepay.rewards.overview import RunNotFound, program_overview, run_payouts
from gamepay.rewards.programs import Program
from gamepay_admin.reads import money
from gamepay_admin.web import Page, console_of, render, require_session

__all__ = ["PAYOUTS_PAGE", "REWARDS"]

PAYOUTS_PAGE = 100
"""Payouts per page of a run."""


def _money(units: int, asset_id: str, assets: dict[str, Asset]) -> str:
    return money(units, assets.get(asset_id), asset_id)


def _when(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _rules(program: Program) -> str:
    parts = []
    if program.cashback_bps:
        parts.append(f"cashback {program.cashback_bps / 100:g} %")
    if program.tiers:
        parts.append(f"{len(program.tiers)} spend tier(s)")
    if program.active_bonus:
        parts.append(f"active bonus {program.active_bonus}")
    if program.cap is not None:
        parts.append(f"cap {program.cap}")
    return ", ".join(parts) or "no rule pays anything"


async def programs(request: Request) -> Response:
    """Every program: its rules, latest runs and the next period's preview."""
    require_session(request)
    economy = console_of(request).economy
    runners = sorted(economy.rewards.values(), key=lambda r: r.program.name)
    assets = dict(await economy.ledger.get_assets({r.program.asset for r in runners}))
    now = datetime.now(UTC)
    shown = []
    for runner in runners:
        overview = await program_overview(economy.store, runner.program, now=now)
        program, upcoming = overview.program, overview.next

        def money(units: int, program: Program = program) -> str:
            return _money(units, program.asset, assets)

        shown.append(
            {
                "p": program,
                "rules": _rules(program),
                "runs": [
                    {
                        "r": run,
                        "total": money(run.total),
                        "claimed": _when(run.claimed_at),
                        "finished": _when(run.finished_at),
                    }
                    for run in overview.runs
                ],
                "next": upcoming,
                "next_total": money(upcoming.totals.total),
                "next_end": _when(upcoming.period.end),
                "top": [(p, money(p.amount)) for p in upcoming.top],
            }
        )
    return render(request, "rewards.html", {"title": "Reward runs", "programs": shown})


async def run_detail(request: Request) -> Response:
    """One run: its report and its payouts by player, a page at a time."""
    require_session(request)
    economy = console_of(request).economy
    try:
        run_id = int(request.path_params["run_id"])
    except ValueError:
        raise HTTPException(404, "no such reward run") from None
    after = request.query_params.get("after") or None
    try:
        run, report, page = await run_payouts(
            economy.store, run_id, after=after, limit=PAYOUTS_PAGE + 1
        )
    except RunNotFound:
        raise HTTPException(404, "no such reward run") from None
    assets = dict(await economy.ledger.get_assets({run.asset}))
    context: dict[str, Any] = {
        "title": f"Reward run {run.program} {run.period_key}",
        "run": run,
        "report": report,
        "total": _money(run.total, run.asset, assets),
        "paid": _money(report.paid_amount, run.asset, assets),
        "unpaid": _money(report.unpaid_amount, run.asset, assets),
        "period": f"{_when(run.period_start)} to {_when(run.period_end)}",
        "payouts": [
            (p, _money(p.amount, run.asset, assets), _when(p.paid_at)) for p in page[:PAYOUTS_PAGE]
        ],
        "next_after": page[PAYOUTS_PAGE - 1].player_id if len(page) > PAYOUTS_PAGE else "",
    }
    return render(request, "reward_run.html", context)


REWARDS = Page(
    "Reward runs",
    "/rewards",
    [
        Route("/rewards", programs, methods=["GET"]),
        Route("/rewards/runs/{run_id}", run_detail, methods=["GET"]),
    ],
)
"""The reward runs page's nav entry and routes."""
