"""gamepay's operator console: server-rendered pages at ``/admin`` on the serve port.

``console_routes(economy, token)`` gives Starlette routes (``gamepay serve`` mounts them when
``GAMEPAY_ADMIN_TOKEN`` is set); pages plug in as :class:`Page` entries of
``gamepay_admin.registry.PAGES`` using the helpers of ``gamepay_admin.web``. See
``docs/console.md``.
"""

from gamepay_admin.app import SECURITY_HEADERS, console_routes, console_routes_for
from gamepay_admin.security import AdminSession, SessionKeys, SignInLimiter
from gamepay_admin.web import (
    COOKIE,
    PREFIX,
    Console,
    Page,
    checked_form,
    console_of,
    render,
    require_session,
)

__all__ = [
    "COOKIE",
    "PREFIX",
    "SECURITY_HEADERS",
    "AdminSession",
    "Console",
    "Page",
    "SessionKeys",
    "SignInLimiter",
    "checked_form",
    "console_of",
    "console_routes",
    "console_routes_for",
    "render",
    "require_session",
]
