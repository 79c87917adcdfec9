"""Player authentication: a pluggable ``Authenticator`` and the default HMAC-signed player token.

The game backend (which already knows who the player is) issues a short-lived token with
:func:`issue_token` and hands it to the game client; the client sends it in its first websocket
message (never in the URL: query strings end up in access logs). The token is
``<payload>.<signature>``, both unpadded base64url: the payload is compact JSON
``{"v": 1, "sub": player_id, "iat": issued_at, "exp": expires_at}`` (unix seconds) and the
signature is HMAC-SHA256 over the payload's base64url text with the shared secret. Verification
compares signatures in constant time and refuses expired tokens (with a small clock leeway).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Protocol

from gamepay.errors import ConfigError, TokenRejected

__all__ = [
    "MAX_PLAYER_ID_LENGTH",
    "MAX_TOKEN_LENGTH",
    "Authenticator",
    "HmacTokenAuthenticator",
    "issue_token",
    "verify_token",
]

MAX_TOKEN_LENGTH = 2048
"""Longer tokens are refused before any decoding."""

MAX_PLAYER_ID_LENGTH = 128
"""Player ids are 1..128 of ``A-Z a-z 0-9 _ . : @ - / + =`` (what a ledger account id holds)."""

_PLAYER_ID = re.compile(r"[A-Za-z0-9_.:@\-/+=]{1,128}")

_MIN_SECRET = 16


class Authenticator(Protocol):
    """Turns the token of an ``authenticate`` message into a player id, or refuses it."""

    async def authenticate(self, token: str) -> str:
        """Return the player id the token proves; raise ``TokenRejected`` otherwise."""
        ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise TokenRejected("token is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenRejected("token is not base64url") from exc


def _secret(secret: bytes | str) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not isinstance(key, bytes) or len(key) < _MIN_SECRET:
        raise ConfigError(f"the token secret must be at least {_MIN_SECRET} bytes")
    return key


def _check_player_id(player_id: object) -> str:
    if not isinstance(player_id, str) or _PLAYER_ID.fullmatch(player_id) is None:
        raise TokenRejected("token names no valid player")
    return player_id


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def issue_token(player_id: str, secret: bytes | str, ttl: int, now: int | None = None) -> str:
    """Return a token proving ``player_id`` for ``ttl`` seconds from ``now`` (unix seconds).

    Call it in the game backend after the player logged in; keep ``ttl`` short (minutes).
    """
    key = _secret(secret)
    try:
        _check_player_id(player_id)
    except TokenRejected as exc:
        raise ConfigError("player id must be 1-128 of A-Z a-z 0-9 _ . : @ - / + =") from exc
    if type(ttl) is not int or ttl <= 0:
        raise ConfigError("ttl must be a positive int of seconds")
    issued = int(time.time()) if now is None else now
    claims = {"v": 1, "sub": player_id, "iat": issued, "exp": issued + ttl}
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_sign(key, payload)}"


def verify_token(token: object, secret: bytes | str, now: int, leeway: int = 5) -> str:
    """Return the player id of a valid, unexpired token; raise ``TokenRejected`` otherwise."""
    key = _secret(secret)
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
        raise TokenRejected("token is missing or too long")
    payload, dot, signature = token.partition(".")
    if not dot or not payload or not signature:
        raise TokenRejected("token is not <payload>.<signature>")
    expected = _sign(key, payload) if payload.isascii() else ""
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise TokenRejected("token signature does not match")
    try:
        claims = json.loads(_unb64(payload))
    except ValueError as exc:
        raise TokenRejected("token payload is not JSON") from exc
    if not isinstance(claims, dict) or claims.get("v") != 1:
        raise TokenRejected("token version is not supported")
    expires, issued = claims.get("exp"), claims.get("iat")
    if type(expires) is not int or type(issued) is not int:
        raise TokenRejected("token has no valid expiry")
    if now > expires + leeway:
        raise TokenRejected("token has expired")
    if issued > now + leeway:
        raise TokenRejected("token was issued in the future")
    return _check_player_id(claims.get("sub"))


class HmacTokenAuthenticator:
    """The default authenticator: verifies tokens from :func:`issue_token` with a shared secret."""

    def __init__(
        self,
        secret: bytes | str,
        *,
        clock: Callable[[], float] = time.time,
        leeway: int = 5,
    ) -> None:
        self._secret = _secret(secret)
        self._clock = clock
        self._leeway = leeway

    def __repr__(self) -> str:
        return "HmacTokenAuthenticator(secret=***)"

    async def authenticate(self, token: str) -> str:
        """Return the token's player id; raise ``TokenRejected`` if forged, malformed or expired."""
        return verify_token(token, self._secret, int(self._clock()), self._leeway)
