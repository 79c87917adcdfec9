"""Player authentication: a pluggable ``Authenticator`` and the default, standard JWT player token.

The game backend (which already knows who the player is) mints a short-lived token and hands it
to the game client; the client sends it in its first websocket message (never in the URL: query
strings end up in access logs). The token is a JWT (RFC 7519), HS256 by default, so any
language's usual JWT library mints it (docs/protocol.md shows Python and Node):

- claims: ``sub`` (the player id), ``iat`` and ``exp`` (unix seconds) are required; ``iss`` and
  ``aud`` are checked when the authenticator is given an ``issuer`` / ``audience``;
- header: ``kid`` names the key when several are accepted (rotation without downtime: accept the
  old and the new key, switch the backend to the new one, then drop the old one); a token
  without ``kid`` is tried against each accepted key (and with one unnamed key, ``kid`` is not
  needed: the token is checked against that key);
- keys are at least 32 bytes (RFC 7518 section 3.2 for HS256).

:func:`issue_token` is the Python helper for the game backend. Every way a token can fail
(missing, empty, over-long, malformed, forged, unknown ``kid``, wrong ``iss``/``aud``, expired,
issued in the future, naming no valid player) raises ``TokenRejected`` and nothing else.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import jwt

from gamepay.errors import ConfigError, TokenRejected

__all__ = [
    "DEFAULT_ALGORITHMS",
    "MAX_PLAYER_ID_LENGTH",
    "MAX_TOKEN_LENGTH",
    "MIN_KEY_BYTES",
    "Authenticator",
    "HmacTokenAuthenticator",
    "JwtAuthenticator",
    "issue_token",
    "verify_token",
]

MAX_TOKEN_LENGTH = 4096
"""Longer tokens are refused before any decoding."""

MAX_PLAYER_ID_LENGTH = 128
"""Player ids are 1..128 of ``A-Z a-z 0-9 _ . : @ - / + =`` (what a ledger account id holds)."""

MIN_KEY_BYTES = 32
"""The shortest HMAC key accepted (RFC 7518: a key at least as long as the hash)."""

DEFAULT_ALGORITHMS = ("HS256",)
"""The algorithms accepted unless told otherwise (never ``none``)."""

_HMAC = ("HS256", "HS384", "HS512")

_PLAYER_ID = re.compile(r"[A-Za-z0-9_.:@\-/+=]{1,128}")


class Authenticator(Protocol):
    """Turns the token of an ``authenticate`` message into a player id, or refuses it."""

    async def authenticate(self, token: str) -> str:
        """Return the player id the token proves; raise ``TokenRejected`` otherwise."""
        ...


def _key(secret: bytes | str) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"a token key must be at least {MIN_KEY_BYTES} bytes")
    return key


def _keys(keys: bytes | str | Mapping[str, bytes | str]) -> dict[str | None, bytes]:
    if isinstance(keys, bytes | str):
        return {None: _key(keys)}
    if not keys:
        raise ConfigError("at least one token key is needed")
    found: dict[str | None, bytes] = {}
    for kid, secret in keys.items():
        if not isinstance(kid, str) or not kid:
            raise ConfigError("a key id (kid) is a non-empty string")
        found[kid] = _key(secret)
    return found


def _check_player_id(player_id: object) -> str:
    if not isinstance(player_id, str) or _PLAYER_ID.fullmatch(player_id) is None:
        raise TokenRejected("token names no valid player")
    return player_id


def issue_token(
    player_id: str,
    secret: bytes | str,
    ttl: int,
    now: int | None = None,
    *,
    kid: str | None = None,
    issuer: str | None = None,
    audience: str | None = None,
    algorithm: str = "HS256",
) -> str:
    """Return a JWT proving ``player_id`` for ``ttl`` seconds from ``now`` (unix seconds).

    Call it in the game backend after the player logged in; keep ``ttl`` short (minutes). Pass
    ``kid`` when the server accepts several keys, ``issuer``/``audience`` when it checks them.
    """
    key = _key(secret)
    try:
        _check_player_id(player_id)
    except TokenRejected as exc:
        raise ConfigError("player id must be 1-128 of A-Z a-z 0-9 _ . : @ - / + =") from exc
    if type(ttl) is not int or ttl <= 0:
        raise ConfigError("ttl must be a positive int of seconds")
    if algorithm not in _HMAC:
        raise ConfigError(f"issue_token signs with a shared secret: one of {', '.join(_HMAC)}")
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {"sub": player_id, "iat": issued, "exp": issued + ttl}
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    headers = None if kid is None else {"kid": kid}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def verify_token(
    token: object,
    secret: bytes | str | Mapping[str, bytes | str],
    now: int,
    leeway: int = 5,
    *,
    issuer: str | None = None,
    audience: str | None = None,
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
) -> str:
    """Return the player id of a valid, unexpired token; raise ``TokenRejected`` otherwise."""
    return _verify(token, _keys(secret), now, leeway, issuer, audience, tuple(algorithms))


def _verify(
    token: object,
    keys: Mapping[str | None, bytes],
    now: int,
    leeway: int,
    issuer: str | None,
    audience: str | None,
    algorithms: tuple[str, ...],
) -> str:
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
        raise TokenRejected("token is missing, empty or too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenRejected("token is not a JWT") from exc
    kid = header.get("kid")
    if kid is not None and None not in keys:  # one unnamed key: any kid is tried against it
        key = keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenRejected("token is signed with a key this server does not accept")
        candidates = [key]
    else:
        candidates = list(keys.values())
    claims: dict[str, Any] | None = None
    for key in candidates:
        try:
            claims = _decode(token, key, now, leeway, issuer, audience, algorithms)
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError as exc:
            raise TokenRejected("token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise TokenRejected("token was issued in the future") from exc
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError) as exc:
            raise TokenRejected("token is for another issuer or audience") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"token lacks the {exc.claim!r} claim") from exc
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise TokenRejected("token is malformed") from exc
    if claims is None:
        raise TokenRejected("token signature does not match")
    issued = claims.get("iat")
    if type(issued) is not int or issued > now + leeway:
        raise TokenRejected("token was issued in the future")
    if type(claims.get("exp")) is not int:
        raise TokenRejected("token has no valid expiry")
    return _check_player_id(claims.get("sub"))


def _decode(
    token: str,
    key: bytes,
    now: int,
    leeway: int,
    issuer: str | None,
    audience: str | None,
    algorithms: tuple[str, ...],
) -> dict[str, Any]:
    options: jwt.types.Options = {
        "require": ["sub", "iat", "exp"],
        "verify_aud": audience is not None,
        "verify_iss": issuer is not None,
        "verify_exp": False,  # checked below against the injected clock
        "verify_iat": False,
        "verify_nbf": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a short key never gets this far (see _key)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=list(algorithms),
            options=options,
            issuer=issuer,
            audience=audience,
        )
    expires = claims.get("exp")
    if type(expires) is int and now > expires + leeway:
        raise jwt.ExpiredSignatureError("expired")
    not_before = claims.get("nbf")
    if not_before is not None and (type(not_before) is not int or not_before > now + leeway):
        raise jwt.ImmatureSignatureError("not yet valid")
    return claims


class JwtAuthenticator:
    """The default authenticator: verifies the game backend's JWTs with one or several keys.

    ``keys`` is one shared secret, or ``{kid: secret}`` to accept several at once (rotation).
    ``issuer`` / ``audience``, when given, must match the token's ``iss`` / ``aud``.
    """

    def __init__(
        self,
        keys: bytes | str | Mapping[str, bytes | str],
        *,
        issuer: str | None = None,
        audience: str | None = None,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        clock: Callable[[], float] = time.time,
        leeway: int = 5,
    ) -> None:
        unknown = set(algorithms) - set(_HMAC)
        if not algorithms or unknown:
            raise ConfigError(f"algorithms must be among {', '.join(_HMAC)}")
        self._keys = _keys(keys)
        self._issuer = issuer
        self._audience = audience
        self._algorithms = tuple(algorithms)
        self._clock = clock
        self._leeway = leeway

    def __repr__(self) -> str:
        kids = sorted(str(k) for k in self._keys if k is not None)
        return f"JwtAuthenticator(keys=***, kids={kids}, issuer={self._issuer!r})"

    async def authenticate(self, token: str) -> str:
        """Return the token's player id; raise ``TokenRejected`` for any problem with it."""
        return _verify(
            token,
            self._keys,
            int(self._clock()),
            self._leeway,
            self._issuer,
            self._audience,
            self._algorithms,
        )


HmacTokenAuthenticator = JwtAuthenticator
"""The name protocol 1 used for the default authenticator (its tokens are HS256 JWTs now)."""
