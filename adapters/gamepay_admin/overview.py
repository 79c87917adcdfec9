"""The overview page (``/admin/``): the economy at a glance."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamepay_admin.web import Page, render, require_session

__all__ = ["OVERVIEW"]


async def overview(request: Request) -> Response:
    """The overview page."""
    require_session(request)
    return render(request, "overview.html", {"title": "Overview"})


OVERVIEW = Page("Overview", "/", [Route("/", overview, methods=["GET"])])
"""The overview page's nav entry and routes."""
