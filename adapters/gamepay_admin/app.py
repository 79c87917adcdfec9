"""The console as routes for the serve port: ``console_routes(economy, token)`` mounts ``/admin``.

``gamepay serve`` adds them when ``GAMEPAY_ADMIN_TOKEN`` is set (:func:`console_routes_for`);
without it there is no route at all, so every ``/admin`` path answers 404. A game serving its
own Starlette app can mount the same routes. Every answer carries the security headers of
:data:`SECURITY_HEADERS` (a CSP without any script, no framing, ``no-store``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gamepay.config import MIN_ADMIN_TOKEN_BYTES, Settings
from gamepay_admin.registry import PAGES
from gamepay_admin.security import SessionKeys, SignInLimiter, same_secret
from gamepay_admin.web import (
    COOKIE,
    PREFIX,
    Console,
    CsrfRefused,
    Page,
    SignInRequired,
    audit,
    checked_form,
    console_of,
    read_form,
    render,
    require_session,
    same_origin,
)

if TYPE_CHECKING:
    from gamepay.economy import Economy

__all__ = ["SECURITY_HEADERS", "STATIC_FILES", "console_routes", "console_routes_for"]

log = logging.getLogger("gamepay.admin")

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
}
"""Set on every console answer."""

STATIC_FILES = {"console.css": "text/css; charset=utf-8"}
"""The package files served under ``/admin/static/`` (nothing else is)."""


class _SecurityHeaders:
    """ASGI middleware: the console's security headers on every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() not in SECURITY_HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


@cache
def _static(name: str) -> bytes:
    return files("gamepay_admin").joinpath("static", name).read_bytes()


async def _static_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        raise HTTPException(404)
    return Response(_static(name), media_type=STATIC_FILES[name])


def _client(request: Request) -> str:
    """The client's address as the server saw it (uvicorn applies trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


def _secure(request: Request) -> bool:
    """True over https (uvicorn sets the scheme from a trusted proxy's X-Forwarded-Proto)."""
    return request.url.scheme == "https"


async def _sign_in_page(request: Request) -> Response:
    if console_of(request).keys.check(request.cookies.get(COOKIE)) is not None:
        return RedirectResponse(f"{PREFIX}/", 303)
    return render(request, "signin.html", {"next": _next(request.query_params.get("next"))})


def _next(path: str | None) -> str:
    """Where to go after sign-in: a console path only (never another site)."""
    if path and path.startswith(f"{PREFIX}/") and not path.startswith(f"{PREFIX}//"):
        return path
    return f"{PREFIX}/"


async def _sign_in(request: Request) -> Response:
    console = console_of(request)
    client = _client(request)
    wait = console.limiter.allow(client)
    if wait is not None:
        log.warning("console sign-in rate-limited for %s", client)
        answer = render(
            request,
            "signin.html",
            {"error": "Too many sign-in attempts: wait a minute.", "next": f"{PREFIX}/"},
            status_code=429,
        )
        answer.headers["retry-after"] = str(int(wait) + 1)
        return answer
    if not same_origin(request):
        raise CsrfRefused
    form = await read_form(request)
    token = console.extra["token"]
    if not same_secret(form.get("token", ""), token):
        log.warning("console sign-in refused: wrong token from %s", client)
        return render(
            request,
            "signin.html",
            {"error": "That token is not right.", "next": _next(form.get("next"))},
            status_code=401,
        )
    cookie, session = console.keys.open()
    await audit(request, session, "console.sign_in", "console", {})
    log.info("console sign-in from %s", client)
    done = RedirectResponse(_next(form.get("next")), 303)
    done.set_cookie(
        COOKIE,
        cookie,
        max_age=int(console.keys.lifetime_s),
        path=PREFIX,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return done


async def _sign_out(request: Request) -> Response:
    await checked_form(request)
    await audit(request, require_session(request), "console.sign_out", "console", {})
    answer = RedirectResponse(f"{PREFIX}/signin", 303)
    answer.delete_cookie(
        COOKIE, path=PREFIX, secure=_secure(request), httponly=True, samesite="strict"
    )
    return answer


async def _refused(request: Request, exc: Exception) -> Response:
    """Sign-in required: a GET goes to the sign-in page; 401/403/other errors get a page."""
    if isinstance(exc, SignInRequired) and request.method in ("GET", "HEAD"):
        return RedirectResponse(f"{PREFIX}/signin?next={quote(request.url.path)}", 303)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "error"
    return render(request, "error.html", {"status": status, "detail": detail}, status_code=status)


async def _home_redirect(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/", 307)


def console_routes(
    economy: Economy,
    token: str,
    *,
    session_s: float = 8 * 3600.0,
    pages: Sequence[Page] = (),
    zone: ZoneInfo | None = None,
    limiter: SignInLimiter | None = None,
) -> list[BaseRoute]:
    """The console at ``/admin`` over ``economy``, signed in with ``token`` (>= 32 bytes).

    ``pages`` are added after the built-in ones (:data:`gamepay_admin.registry.PAGES`).
    """
    if len(token.encode()) < MIN_ADMIN_TOKEN_BYTES:
        from gamepay.errors import ConfigError

        raise ConfigError(f"the console's token must be at least {MIN_ADMIN_TOKEN_BYTES} bytes")
    every = (*PAGES, *pages)
    console = Console(
        economy=economy,
        keys=SessionKeys(token, session_s),
        limiter=limiter or SignInLimiter(),
        pages=every,
        zone=zone or ZoneInfo("UTC"),
        extra={"token": token},
    )
    routes: list[BaseRoute] = [
        Route("/signin", _sign_in_page, methods=["GET"]),
        Route("/signin", _sign_in, methods=["POST"]),
        Route("/signout", _sign_out, methods=["POST"]),
        Route("/static/{name}", _static_file, methods=["GET"]),
    ]
    for page in every:
        routes.extend(page.routes)
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _refused},
    )
    app.state.console = console
    return [
        Route(PREFIX, _home_redirect, methods=["GET", "HEAD"]),
        Mount(PREFIX, app=_SecurityHeaders(app)),
    ]


def console_routes_for(economy: Economy, settings: Settings) -> list[BaseRoute]:
    """The console of ``settings``: none without ``GAMEPAY_ADMIN_TOKEN`` (or with a short one,
    which ``Settings.problems()`` reports and ``gamepay serve`` refuses outside dev)."""
    token = settings.admin_token_value()
    if token is None:
        return []
    if len(token.encode()) < MIN_ADMIN_TOKEN_BYTES:
        log.warning("GAMEPAY_ADMIN_TOKEN is too short: the console at %s is off", PREFIX)
        return []
    return console_routes(economy, token, session_s=settings.admin_session_s, zone=settings.zone)
