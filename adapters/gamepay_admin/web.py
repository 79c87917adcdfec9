"""What every console page uses: the ``Console`` it serves, ``Page``, sessions, CSRF, templates.

A page is a :class:`Page` (a nav entry and its Starlette routes, paths relative to ``/admin``).
Its endpoints call :func:`require_session` first (no session: a ``GET`` is redirected to the
sign-in page, anything else answers 401), read POSTed forms with :func:`checked_form` (a bad or
missing CSRF token, or a foreign ``Origin``: 403) and answer with :func:`render`, whose
templates extend ``base.html`` and put ``{{ csrf_field() }}`` in every form. See
``docs/console.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute

from gamepay.audit import Actor, AuditLog
from gamepay_admin.security import AdminSession, SessionKeys, SignInLimiter

if TYPE_CHECKING:
    from gamepay.economy import Economy

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "OPERATOR",
    "PREFIX",
    "Console",
    "CsrfRefused",
    "Page",
    "SignInRequired",
    "actor_of",
    "audit",
    "checked_form",
    "console_of",
    "read_form",
    "render",
    "require_session",
    "same_origin",
    "templates",
]

PREFIX = "/admin"
"""Where the console is mounted on the serve port."""

COOKIE = "gamepay_admin"
"""The session cookie's name (``Path=/admin``, HttpOnly, SameSite=Strict)."""

CSRF_FIELD = "csrf"
"""The hidden form field holding the session's CSRF token."""

MAX_FORM_BYTES = 64 * 1024
"""A POSTed form larger than this is refused (413)."""

OPERATOR = "admin"
"""The operator label of every console action (the console has one token)."""


@dataclass(frozen=True)
class Page:
    """One console page: its nav label, its nav link (under ``/admin``) and its routes."""

    title: str
    path: str
    routes: Sequence[BaseRoute]
    nav: bool = True


@dataclass
class Console:
    """What the console's endpoints serve: the economy, the session keys, the pages."""

    economy: Economy
    keys: SessionKeys
    limiter: SignInLimiter = field(default_factory=SignInLimiter)
    pages: Sequence[Page] = ()
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    extra: dict[str, Any] = field(default_factory=dict)
    """Room for a page's own state (keyed by the page's name)."""


class SignInRequired(HTTPException):
    """The request has no valid session (a GET is redirected to sign-in, others get 401)."""

    def __init__(self) -> None:
        super().__init__(401, "sign in first")


class CsrfRefused(HTTPException):
    """A POST without the session's CSRF token, or from a foreign origin (403)."""

    def __init__(self) -> None:
        super().__init__(403, "this form has expired: reload the page and try again")


def actor_of(request: Request, session: AdminSession) -> Actor:
    """The audit actor of a signed-in request: ``admin``, the client IP, the session's hash."""
    client = request.client.host if request.client else ""
    return Actor.of(OPERATOR, client_ip=client[:64], session_id=session.nonce)


async def audit(
    request: Request,
    session: AdminSession,
    action: str,
    target: str,
    details: Mapping[str, Any],
    *,
    error: str | None = None,
) -> None:
    """Write the audit row of an action that has no transaction of its own to write it in."""
    log_ = AuditLog(console_of(request).economy.store)
    actor = actor_of(request, session)
    await log_.write(actor, action, target, details, datetime.now(UTC), error=error)


def console_of(request: Request) -> Console:
    """The console serving ``request``."""
    console = request.app.state.console
    assert isinstance(console, Console)
    return console


def require_session(request: Request) -> AdminSession:
    """The operator's session; ``SignInRequired`` without a valid one."""
    session = console_of(request).keys.check(request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired
    request.state.admin_session = session
    return session


def same_origin(request: Request) -> bool:
    """No ``Origin`` header (older clients), or one naming this very host."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body as ``{name: first value}`` (an empty body: ``{}``); 413 when too
    large, 415 when not a form."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "form too large")
    if not body:
        return {}
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise HTTPException(415, "expected a form")
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


async def checked_form(request: Request) -> dict[str, str]:
    """The POSTed form of a signed-in operator after the CSRF check (``CsrfRefused``: 403)."""
    session = require_session(request)
    if not same_origin(request):
        raise CsrfRefused
    form = await read_form(request)
    if not SessionKeys.csrf_ok(session, form.get(CSRF_FIELD)):
        raise CsrfRefused
    return form


@pass_context
def _csrf_field(context: Context) -> Markup:
    """The hidden input carrying the session's CSRF token (``{{ csrf_field() }}`` in a form)."""
    token = context.get("csrf_token") or ""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


@cache
def templates() -> Environment:
    """The console's Jinja2 environment (package templates, autoescaped)."""
    env = Environment(
        loader=PackageLoader("gamepay_admin", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        enable_async=False,
    )
    env.globals["csrf_field"] = _csrf_field
    env.globals["prefix"] = PREFIX
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` with the nav, the session's CSRF token and ``context``."""
    console = console_of(request)
    session: AdminSession | None = getattr(request.state, "admin_session", None)
    html = (
        templates()
        .get_template(template)
        .render(
            {
                "nav": [page for page in console.pages if page.nav],
                "here": request.url.path,
                "signed_in": session is not None,
                "csrf_token": session.csrf if session else "",
                **(context or {}),
            }
        )
    )
    return HTMLResponse(html, status_code=status_code)
