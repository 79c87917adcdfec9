"""Player tokens (JWT): issue/verify round trip, forgery, expiry, key rotation, issuer and
audience, and garbage never crash verify."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.errors import ConfigError, TokenRejected
from gamepay_ws.auth import HmacTokenAuthenticator, JwtAuthenticator, issue_token, verify_token

SECRET = "a-test-secret-of-32-bytes-length"
NOW = 1_800_000_000


def test_round_trip_returns_the_player() -> None:
    """A fresh token verifies to the player it was issued for."""
    token = issue_token("alice", SECRET, ttl=60, now=NOW)
    assert verify_token(token, SECRET, now=NOW + 30) == "alice"


def test_expired_token_is_rejected() -> None:
    """A token past its expiry (beyond the leeway) is refused."""
    token = issue_token("alice", SECRET, ttl=60, now=NOW)
    assert verify_token(token, SECRET, now=NOW + 64) == "alice"  # within 5 s leeway
    with pytest.raises(TokenRejected, match="expired"):
        verify_token(token, SECRET, now=NOW + 66)


def test_token_from_the_future_is_rejected() -> None:
    """A token issued after now (beyond the leeway) is refused."""
    token = issue_token("alice", SECRET, ttl=60, now=NOW + 100)
    with pytest.raises(TokenRejected, match="future"):
        verify_token(token, SECRET, now=NOW)


def test_other_secret_and_tampered_payload_are_rejected() -> None:
    """A token signed with another secret, or with a swapped payload, does not verify."""
    token = issue_token("alice", SECRET, ttl=60, now=NOW)
    with pytest.raises(TokenRejected, match="signature"):
        verify_token(token, "another-secret-of-enough-length!", now=NOW)
    bob = issue_token("bob", SECRET, ttl=60, now=NOW)
    forged = ".".join([*bob.split(".")[:2], token.split(".")[2]])
    with pytest.raises(TokenRejected, match="signature"):
        verify_token(forged, SECRET, now=NOW)


def test_weak_secret_and_bad_player_ids_are_config_errors() -> None:
    """Issuing with a short secret, an empty player id or a zero ttl is refused."""
    with pytest.raises(ConfigError):
        issue_token("alice", "short", ttl=60, now=NOW)
    with pytest.raises(ConfigError):
        issue_token("", SECRET, ttl=60, now=NOW)
    with pytest.raises(ConfigError):
        issue_token("has space", SECRET, ttl=60, now=NOW)
    with pytest.raises(ConfigError):
        issue_token("alice", SECRET, ttl=0, now=NOW)


async def test_authenticator_uses_its_clock() -> None:
    """The default authenticator verifies against its injected clock."""
    token = issue_token("carol", SECRET, ttl=10, now=NOW)
    assert await HmacTokenAuthenticator(SECRET, clock=lambda: NOW).authenticate(token) == "carol"
    late = HmacTokenAuthenticator(SECRET, clock=lambda: NOW + 100)
    with pytest.raises(TokenRejected):
        await late.authenticate(token)
    assert "test-secret" not in repr(late)


@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_garbage_is_rejected_never_crashes(garbage: str) -> None:
    """Any string that is not a token we issued raises TokenRejected and nothing else."""
    with pytest.raises(TokenRejected):
        verify_token(garbage, SECRET, now=NOW)


@given(st.from_regex(r"[A-Za-z0-9_.:@\-/+=]{1,128}", fullmatch=True))
def test_any_valid_player_id_round_trips(player_id: str) -> None:
    """Every valid player id survives issue and verify unchanged."""
    assert verify_token(issue_token(player_id, SECRET, 60, NOW), SECRET, NOW) == player_id


def test_a_token_minted_by_any_jwt_library_is_accepted() -> None:
    """A plain HS256 JWT with sub, iat and exp (as jsonwebtoken or jose mint it) verifies."""
    token = jwt.encode({"sub": "dora", "iat": NOW, "exp": NOW + 60}, SECRET, algorithm="HS256")
    assert verify_token(token, SECRET, now=NOW) == "dora"
    head = issue_token("a", SECRET, 60, NOW).split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    assert header == {"alg": "HS256", "typ": "JWT"}


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iat": NOW, "exp": NOW + 60}, "sub"),
        ({"sub": "a", "exp": NOW + 60}, "iat"),
        ({"sub": "a", "iat": NOW}, "exp"),
        ({"sub": "a b", "iat": NOW, "exp": NOW + 60}, "player"),
        ({"sub": "a", "iat": NOW, "exp": NOW + 60, "nbf": NOW + 100}, "future"),
    ],
)
def test_missing_claims_and_bad_subjects_are_rejected(
    claims: dict[str, object], reason: str
) -> None:
    """sub, iat and exp are required; sub must be a valid player id; nbf is honoured."""
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(TokenRejected, match=reason):
        verify_token(token, SECRET, now=NOW)


def test_every_token_problem_is_token_rejected() -> None:
    """Empty, over-long, unsigned (alg none) and other-algorithm tokens: all TokenRejected."""
    unsigned = jwt.encode({"sub": "a", "iat": NOW, "exp": NOW + 60}, None, algorithm="none")
    other = jwt.encode({"sub": "a", "iat": NOW, "exp": NOW + 60}, SECRET * 2, algorithm="HS512")
    for token in ("", "x" * 5000, unsigned, other, None, 5):
        with pytest.raises(TokenRejected):
            verify_token(token, SECRET, now=NOW)


async def test_keys_rotate_by_kid_without_downtime() -> None:
    """Old and new keys are both accepted during a rotation; an unknown kid is refused."""
    old, new = SECRET, "a-brand-new-secret-of-32-bytes!!"
    rotating = JwtAuthenticator({"2026-11": old, "2026-12": new}, clock=lambda: NOW)
    for kid, key in (("2026-11", old), ("2026-12", new)):
        token = issue_token("erin", key, 60, NOW, kid=kid)
        assert await rotating.authenticate(token) == "erin"
    assert await rotating.authenticate(issue_token("erin", new, 60, NOW)) == "erin"  # no kid
    wrong_kid = issue_token("erin", new, 60, NOW, kid="2026-11")
    with pytest.raises(TokenRejected, match="signature"):
        await rotating.authenticate(wrong_kid)
    with pytest.raises(TokenRejected, match="key"):
        await rotating.authenticate(issue_token("erin", new, 60, NOW, kid="2025-01"))
    single = JwtAuthenticator(new, clock=lambda: NOW)  # one unnamed key: the kid is not needed
    assert await single.authenticate(issue_token("erin", new, 60, NOW, kid="2026-12")) == "erin"
    after = JwtAuthenticator({"2026-12": new}, clock=lambda: NOW)  # the old key is retired
    with pytest.raises(TokenRejected):
        await after.authenticate(issue_token("erin", old, 60, NOW, kid="2026-11"))


async def test_issuer_and_audience_are_checked_when_configured() -> None:
    """With issuer/audience set, only tokens naming them pass; without, they are ignored."""
    strict = JwtAuthenticator(SECRET, issuer="game-backend", audience="gamepay", clock=lambda: NOW)
    good = issue_token("finn", SECRET, 60, NOW, issuer="game-backend", audience="gamepay")
    assert await strict.authenticate(good) == "finn"
    for issuer, audience in (("other", "gamepay"), ("game-backend", "other"), (None, None)):
        token = issue_token("finn", SECRET, 60, NOW, issuer=issuer, audience=audience)
        with pytest.raises(TokenRejected):
            await strict.authenticate(token)
    assert await JwtAuthenticator(SECRET, clock=lambda: NOW).authenticate(good) == "finn"


def test_short_keys_and_asymmetric_algorithms_are_config_errors() -> None:
    """Keys under 32 bytes and non-HMAC algorithms are refused when the authenticator is built."""
    with pytest.raises(ConfigError):
        JwtAuthenticator("x" * 31)
    with pytest.raises(ConfigError):
        JwtAuthenticator({"k": SECRET, "short": "abc"})
    with pytest.raises(ConfigError):
        JwtAuthenticator(SECRET, algorithms=["RS256"])
