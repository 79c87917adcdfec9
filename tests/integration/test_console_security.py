"""The console's guards over a real economy: no token no console, sign-in, sessions, CSRF, limits.

Real parts: a database of each backend, the sandbox over HTTP, the console's Starlette routes
served through httpx's ASGI transport (the same app ``gamepay serve`` mounts).
"""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from starlette.applications import Starlette

from gamepay.audit import AuditLog
from gamepay.config import Settings
from gamepay_admin import SECURITY_HEADERS, SignInLimiter, console_routes_for
from tests.support.console import ADMIN_TOKEN, WS_SECRET, csrf_of, running_console, sign_in


async def test_without_the_token_every_admin_path_is_404(db_url: str) -> None:
    """Settings without GAMEPAY_ADMIN_TOKEN mount nothing: /admin, its pages and sign-in are 404."""
    async with running_console(db_url) as world:
        settings = Settings(_env_file=None, ws_token_secret=WS_SECRET)  # type: ignore[call-arg]
        app = Starlette(routes=console_routes_for(world.economy, settings))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            for path in ("/admin", "/admin/", "/admin/signin", "/admin/players"):
                assert (await http.get(path)).status_code == 404, path
            assert (await http.post("/admin/signin", data={"token": "x"})).status_code == 404


async def test_a_short_token_mounts_no_console_and_is_a_problem(db_url: str) -> None:
    """A 31-byte GAMEPAY_ADMIN_TOKEN is one problem line naming the variable; no console."""
    async with running_console(db_url) as world:
        short = Settings(_env_file=None, ws_token_secret=WS_SECRET, admin_token="x" * 31)  # type: ignore[call-arg]
        problems = short.problems()
        assert [p for p in problems if "ADMIN" in p] == [
            "GAMEPAY_ADMIN_TOKEN is 31 bytes, shorter than 32: use a random token of at least "
            "32 bytes, or unset it to turn the console off"
        ]
        assert "x" * 31 not in " ".join(problems)
        assert console_routes_for(world.economy, short) == []
        good = Settings(_env_file=None, ws_token_secret=WS_SECRET, admin_token=ADMIN_TOKEN)  # type: ignore[call-arg]
        assert [p for p in good.problems() if "ADMIN" in p] == []
        assert console_routes_for(world.economy, good) != []


async def test_without_a_session_pages_redirect_and_actions_are_401(db_url: str) -> None:
    """No cookie: GET /admin/ goes to sign-in (remembering where); POST /admin/signout is 401."""
    async with running_console(db_url) as world:
        page = await world.http.get("/admin/")
        assert page.status_code == 303
        assert page.headers["location"] == "/admin/signin?next=/admin/"
        assert (await world.http.get("/admin")).headers["location"] == "/admin/"
        assert (await world.http.post("/admin/signout", data={"csrf": "x"})).status_code == 401
        forged = "gamepay_admin=v1.99999999999.00ff.deadbeef"
        assert (await world.http.get("/admin/", headers={"cookie": forged})).status_code == 303


async def test_a_wrong_token_is_refused_and_logged_without_it(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong token: 401, no cookie, one warning naming the client but not the token tried."""
    async with running_console(db_url) as world:
        with caplog.at_level(logging.WARNING, logger="gamepay.admin"):
            refused = await sign_in(world.http, "not-the-token-" + "z" * 30)
        assert refused.status_code == 401
        assert "That token is not right." in refused.text
        assert "set-cookie" not in refused.headers
        assert (await world.http.get("/admin/")).status_code == 303
        lines = [r.getMessage() for r in caplog.records]
        assert any("wrong token from 127.0.0.1" in line for line in lines), lines
        assert not any("z" * 30 in line or ADMIN_TOKEN in line for line in lines)


async def test_the_session_cookie_flags(db_url: str) -> None:
    """The right token sets an HttpOnly, SameSite=Strict cookie on Path=/admin (Secure: https)."""
    async with running_console(db_url) as world:
        done = await sign_in(world.http)
        assert (done.status_code, done.headers["location"]) == (303, "/admin/")
        cookie = done.headers["set-cookie"].lower()
        for flag in ("httponly", "samesite=strict", "path=/admin", "max-age=28800"):
            assert flag in cookie, cookie
        assert "secure" not in cookie.replace("httponly", "")
        assert ADMIN_TOKEN.lower() not in cookie
        assert (await world.http.get("/admin/")).status_code == 200
    async with running_console(db_url, base_url="https://testserver") as world:
        cookie = (await sign_in(world.http)).headers["set-cookie"].lower()
        assert "; secure" in cookie, cookie


async def test_sign_in_attempts_are_rate_limited_per_client(db_url: str) -> None:
    """Five attempts a minute per client: the sixth is 429 with Retry-After, even the right one."""
    async with running_console(db_url, limiter=SignInLimiter(attempts=5)) as world:
        for _ in range(5):
            assert (await sign_in(world.http, "wrong-" + "w" * 40)).status_code == 401
        limited = await sign_in(world.http)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 61
        assert "set-cookie" not in limited.headers


async def test_posts_need_the_sessions_csrf_token(db_url: str) -> None:
    """Sign-out without, with a wrong or with another session's CSRF token, or from a foreign
    Origin: 403 and still signed in; with its own token: signed out (cookie deleted), and the
    audit log has both sign-ins and the sign-out."""
    async with running_console(db_url) as world:
        await sign_in(world.http)
        other = csrf_of((await world.http.get("/admin/")).text)
        world.http.cookies.clear()
        await sign_in(world.http)
        token = csrf_of((await world.http.get("/admin/")).text)
        assert token != other
        for form, headers in (
            ({}, {}),
            ({"csrf": "0" * 64}, {}),
            ({"csrf": other}, {}),
            ({"csrf": token}, {"origin": "https://evil.example"}),
        ):
            refused = await world.http.post("/admin/signout", data=form, headers=headers)
            assert refused.status_code == 403, form
        assert (await world.http.get("/admin/")).status_code == 200
        out = await world.http.post("/admin/signout", data={"csrf": token})
        assert (out.status_code, out.headers["location"]) == (303, "/admin/signin")
        assert "max-age=0" in out.headers["set-cookie"].lower()
        actions = [r.action for r in await AuditLog(world.economy.store).page()]
        assert actions == ["console.sign_out", "console.sign_in", "console.sign_in"]


async def test_every_answer_has_the_security_headers(db_url: str) -> None:
    """Sign-in page, a refused POST, a 404 inside /admin, a page and the stylesheet all carry the
    CSP (no script source), X-Frame-Options DENY and no-store."""
    async with running_console(db_url) as world:
        answers = [
            await world.http.get("/admin/signin"),
            await world.http.post("/admin/signout", data={}),
            await world.http.get("/admin/no-such-page"),
        ]
        await sign_in(world.http)
        answers += [
            await world.http.get("/admin/"),
            await world.http.get("/admin/static/console.css"),
        ]
        assert [a.status_code for a in answers] == [200, 401, 404, 200, 200]
        for answer in answers:
            for name, value in SECURITY_HEADERS.items():
                assert answer.headers[name] == value, (answer.url, name)
        assert "script-src" not in SECURITY_HEADERS["content-security-policy"]
        assert (await world.http.get("/admin/static/../app.py")).status_code == 404


async def test_no_page_renders_a_secret(db_url: str) -> None:
    """Every nav page's HTML, signed in, holds neither the admin token, the API key nor the
    websocket secret."""
    async with running_console(db_url) as world:
        await sign_in(world.http)
        home = (await world.http.get("/admin/")).text
        links = sorted(set(re.findall(r'href="(/admin/[^"]*)"', home)))
        assert "/admin/" in links
        secrets_ = (ADMIN_TOKEN, WS_SECRET, world.sandbox.api_key)
        for link in links:
            page = await world.http.get(link)
            assert page.status_code == 200, link
            for secret in secrets_:
                assert secret not in page.text, link
