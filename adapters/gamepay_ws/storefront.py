"""The storefront page: a browser game client of protocol 2, shipped in the wheel as package data.

``gamepay serve`` and ``gamepay demo`` serve it at ``/`` (the example shop too). The page talks
to the websocket at ``/ws`` of the origin it came from. Its player token comes from the demo's
``GET /demo/session`` when the server has one (demo and example shop only: they hand tokens to
anyone), otherwise from the page's fragment, as a game would link to it after its own login:
``https://game.example.com/#token=<token>&player=<id>`` (a fragment is never sent to a server,
so the token stays out of access logs). The page holds no protocol code: it imports the official
JavaScript client, shipped beside it as ``static/gamepay.js`` (a symbolic link to the one file,
``clients/js/gamepay.js``, that the wheel build turns into the file itself) and served next to the
page by :func:`storefront_routes`.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = [
    "CLIENT_RESOURCE",
    "STOREFRONT_RESOURCE",
    "client_js",
    "storefront_html",
    "storefront_route",
    "storefront_routes",
]

STOREFRONT_RESOURCE = "static/index.html"
"""Where the page is inside the ``gamepay_ws`` package."""

CLIENT_RESOURCE = "static/gamepay.js"
"""Where the official JavaScript client the page imports is inside the package."""


@cache
def storefront_html() -> bytes:
    """The page's bytes, read once from the installed package."""
    return files("gamepay_ws").joinpath(STOREFRONT_RESOURCE).read_bytes()


@cache
def client_js() -> bytes:
    """The JavaScript client's bytes, read once from the installed package."""
    return files("gamepay_ws").joinpath(CLIENT_RESOURCE).read_bytes()


def storefront_routes(path: str = "/") -> list[Route]:
    """The page at ``path`` and the client it imports (``gamepay.js`` beside it)."""

    async def client(request: Request) -> Response:
        return Response(
            client_js(),
            media_type="text/javascript; charset=utf-8",
            headers={"cache-control": "no-cache"},
        )

    beside = path.rsplit("/", 1)[0] + "/gamepay.js"
    return [storefront_route(path), Route(beside, client, methods=["GET"])]


def storefront_route(path: str = "/") -> Route:
    """A Starlette ``GET`` route serving the page at ``path``."""

    async def page(request: Request) -> Response:
        return Response(
            storefront_html(),
            media_type="text/html; charset=utf-8",
            headers={"cache-control": "no-cache"},
        )

    return Route(path, page, methods=["GET"])
