"""Websocket game-server adapter for gamepay: protocol 2, player auth, pushes, callbacks.

See ``docs/protocol.md`` for the wire protocol, :mod:`gamepay_ws.asgi` for mounting it in an
ASGI app (Starlette, FastAPI) at ``/ws``, and :mod:`gamepay_ws.server` for running it standalone
or mounted in a game's own ``websockets`` server. From a frame to the ledger:
``server`` (the asyncio pump) feeds ``session.Session`` (protocol state, no I/O), which asks
for requests that ``dispatch`` runs on the ``port.ShopBackend``, implemented over gamepay by
``backend.GamepayBackend``.
"""

from gamepay_ws.asgi import WebsocketEndpoint
from gamepay_ws.auth import (
    Authenticator,
    HmacTokenAuthenticator,
    JwtAuthenticator,
    issue_token,
    verify_token,
)
from gamepay_ws.backend import GamepayBackend
from gamepay_ws.callback import CALLBACK_PATH, callback_app, callback_routes, serve_http
from gamepay_ws.port import ShopBackend
from gamepay_ws.protocol import PROTOCOL_VERSION, event_push, parse_message
from gamepay_ws.ratelimit import TokenBucket
from gamepay_ws.server import AdapterConfig, Socket, SocketClosed, WebsocketAdapter
from gamepay_ws.session import Session, SessionState
from gamepay_ws.storefront import storefront_route, storefront_routes

__all__ = [
    "CALLBACK_PATH",
    "PROTOCOL_VERSION",
    "AdapterConfig",
    "Authenticator",
    "GamepayBackend",
    "HmacTokenAuthenticator",
    "JwtAuthenticator",
    "Session",
    "SessionState",
    "ShopBackend",
    "Socket",
    "SocketClosed",
    "TokenBucket",
    "WebsocketAdapter",
    "WebsocketEndpoint",
    "callback_app",
    "callback_routes",
    "event_push",
    "issue_token",
    "parse_message",
    "serve_http",
    "storefront_route",
    "storefront_routes",
    "verify_token",
]
