"""The console's security primitives: signed session cookies, CSRF tokens, the sign-in limit.

A session is a signed cookie, not a server-side row: ``v1.<expires>.<nonce>.<mac>`` where the
MAC is HMAC-SHA256 under a key derived from ``GAMEPAY_ADMIN_TOKEN``. Every replica derives the
same key, so a session opened on one is valid on all (no shared store needed); rotating the
token ends every session at once. The CSRF token of a session is another HMAC of its nonce, so
it is per session, needs no storage either, and is checked in constant time. Sign-in attempts
are limited per client address in memory (per replica: a replica-local limit still bounds a
guesser to ``replicas x limit`` tries a minute against a 32-byte token).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

__all__ = ["AdminSession", "SessionKeys", "SignInLimiter", "same_secret"]

_VERSION = "v1"


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality of two secrets (their SHA-256 digests: no length leak either)."""
    left = hashlib.sha256(given.encode()).digest()
    right = hashlib.sha256(expected.encode()).digest()
    return hmac.compare_digest(left, right)


@dataclass(frozen=True)
class AdminSession:
    """A signed-in operator's session: its random nonce, when it ends and its CSRF token."""

    nonce: str
    expires: int
    csrf: str


class SessionKeys:
    """Signs and checks session cookies and CSRF tokens with a key derived from the token."""

    def __init__(self, admin_token: str, lifetime_s: float) -> None:
        self._key = hmac.new(
            admin_token.encode(), b"gamepay-admin-session-" + _VERSION.encode(), hashlib.sha256
        ).digest()
        self.lifetime_s = lifetime_s

    def __repr__(self) -> str:
        return f"SessionKeys(key=***, lifetime_s={self.lifetime_s})"

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def open(self, now: float | None = None) -> tuple[str, AdminSession]:
        """A new session: the cookie value to set and the session it stands for."""
        expires = int((time.time() if now is None else now) + self.lifetime_s)
        nonce = secrets.token_hex(16)
        body = f"{_VERSION}.{expires}.{nonce}"
        return f"{body}.{self._mac(body)}", self._session(nonce, expires)

    def _session(self, nonce: str, expires: int) -> AdminSession:
        return AdminSession(nonce, expires, self._mac(f"csrf.{nonce}"))

    def check(self, cookie: str | None, now: float | None = None) -> AdminSession | None:
        """The session a cookie value stands for, or None (missing, forged, expired)."""
        if not cookie or len(cookie) > 200:
            return None
        parts = cookie.split(".")
        if len(parts) != 4 or parts[0] != _VERSION or not parts[1].isdigit():
            return None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(self._mac(body).encode(), parts[3].encode()):
            return None
        expires = int(parts[1])
        if expires <= (time.time() if now is None else now):
            return None
        return self._session(parts[2], expires)

    @staticmethod
    def csrf_ok(session: AdminSession, given: str | None) -> bool:
        """True when ``given`` is the session's CSRF token (constant time)."""
        return given is not None and hmac.compare_digest(session.csrf.encode(), given.encode())


class SignInLimiter:
    """At most ``attempts`` sign-in attempts per client address per ``window_s`` (in memory)."""

    def __init__(self, attempts: int = 5, window_s: float = 60.0, max_clients: int = 10_000):
        self.attempts = attempts
        self.window_s = window_s
        self.max_clients = max_clients
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, client: str, now: float | None = None) -> float | None:
        """Count one attempt; None when allowed, else the seconds until the next is allowed."""
        now = time.monotonic() if now is None else now
        times = self._seen.pop(client, None) or deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        self._seen[client] = times
        while len(self._seen) > self.max_clients:
            self._seen.popitem(last=False)
        if len(times) >= self.attempts:
            return max(times[0] + self.window_s - now, 0.0)
        times.append(now)
        return None
