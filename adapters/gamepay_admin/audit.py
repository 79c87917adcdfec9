"""The audit page (``/admin/audit``): the operator audit log, newest first, 50 a page,
filtered by action or target (``gamepay.audit.AuditLog``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamepay.audit import AuditLog
from gamepay_admin.web import Page, console_of, render, require_session

__all__ = ["AUDIT", "AUDIT_PAGE"]

AUDIT_PAGE = 50
"""Rows per page."""


def _lines(details: Mapping[str, Any]) -> list[str]:
    """A row's details as ``key: value`` lines (values as JSON unless plain strings)."""
    return [
        f"{key}: {value if isinstance(value, str) else json.dumps(value)}"
        for key, value in sorted(details.items())
        if value is not None
    ]


async def audit_log(request: Request) -> Response:
    """The audit log's rows, newest first; ``before`` pages, ``action``/``target`` filter."""
    require_session(request)
    params = request.query_params
    before_text = params.get("before", "")
    before = int(before_text) if before_text.isdigit() else None
    action = params.get("action", "").strip()[:64]
    target = params.get("target", "").strip()[:200]
    log = AuditLog(console_of(request).economy.store)
    rows = await log.page(
        limit=AUDIT_PAGE + 1, before=before, action=action or None, target=target or None
    )
    shown = rows[:AUDIT_PAGE]
    context: dict[str, Any] = {
        "title": "Audit log",
        "rows": [(r, r.at.strftime("%Y-%m-%d %H:%M:%S"), _lines(r.details)) for r in shown],
        "action": action,
        "target": target,
        "next_before": shown[-1].id if len(rows) > AUDIT_PAGE else None,
    }
    return render(request, "audit.html", context)


AUDIT = Page("Audit", "/audit", [Route("/audit", audit_log, methods=["GET"])])
"""The audit page's nav entry and route."""
