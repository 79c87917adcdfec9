"""Player tokens: issue/verify round trip, forgery, expiry, and garbage never crash verify."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.errors import ConfigError, TokenRejected
from gamepay_ws.auth import HmacTokenAuthenticator, issue_token, verify_token

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
    forged = bob.split(".")[0] + "." + token.split(".")[1]
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
