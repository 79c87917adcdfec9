"""The console's signed sessions, CSRF tokens and sign-in limiter, without a server."""

from __future__ import annotations

from gamepay_admin.security import SessionKeys, SignInLimiter, same_secret

TOKEN = "t" * 40


def test_a_session_opened_on_one_replica_is_valid_on_another() -> None:
    """Two key sets from the same token accept each other's cookies (no shared store)."""
    cookie, opened = SessionKeys(TOKEN, 60).open(now=1000)
    assert SessionKeys(TOKEN, 60).check(cookie, now=1001) == opened
    assert TOKEN not in cookie


def test_forged_expired_or_foreign_cookies_are_refused() -> None:
    """A changed expiry or nonce, an expired session, another token's cookie: all None."""
    keys = SessionKeys(TOKEN, 60)
    cookie, _ = keys.open(now=1000)
    version, expires, nonce, mac = cookie.split(".")
    assert keys.check(f"{version}.{int(expires) + 999}.{nonce}.{mac}", now=1001) is None
    assert keys.check(f"{version}.{expires}.{'0' * 32}.{mac}", now=1001) is None
    assert keys.check(cookie, now=1060) is None
    assert SessionKeys("u" * 40, 60).check(cookie, now=1001) is None
    for junk in (None, "", "v1", "v1.x.y.z", "a" * 300):
        assert keys.check(junk, now=1001) is None


def test_csrf_tokens_are_per_session() -> None:
    """Each session has its own CSRF token; only it passes."""
    keys = SessionKeys(TOKEN, 60)
    _, one = keys.open()
    _, two = keys.open()
    assert one.csrf != two.csrf
    assert keys.csrf_ok(one, one.csrf)
    assert not keys.csrf_ok(one, two.csrf)
    assert not keys.csrf_ok(one, None)


def test_the_limiter_counts_per_client_inside_the_window() -> None:
    """Five attempts per client per minute; the sixth waits; another client is not affected;
    a minute later the first may try again."""
    limiter = SignInLimiter(attempts=5, window_s=60)
    assert [limiter.allow("a", now=t) for t in range(5)] == [None] * 5
    assert limiter.allow("a", now=10) == 50
    assert limiter.allow("b", now=10) is None
    assert limiter.allow("a", now=60) is None


def test_same_secret_compares_whole_values() -> None:
    """Equal strings match; a prefix, a longer string or another value do not."""
    assert same_secret(TOKEN, TOKEN)
    assert not same_secret(TOKEN[:-1], TOKEN)
    assert not same_secret(TOKEN + "x", TOKEN)
    assert not same_secret("", TOKEN)
