"""Ledger accounts: ids, kinds and the well-known system accounts.

A player's account is ``player:<id>`` and may never go below zero. System accounts hold the
other side of every posting (see "Posting conventions" in ``docs/architecture.md``):
``world:<chain>`` (the outside world per chain), ``revenue``, ``issuer:<asset id>`` and
``pool:<name>``; the ones that create value (world, issuers) are opened with
``allow_negative=True``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gamepay.errors import AccountError

__all__ = [
    "MAX_ACCOUNT_ID_LENGTH",
    "REVENUE",
    "Account",
    "AccountKind",
    "check_account_id",
    "issuer_account",
    "player_account",
    "pool_account",
    "world_account",
]

MAX_ACCOUNT_ID_LENGTH = 200
"""The longest account id the ledger accepts."""

_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.:@\-/+=]{1,200}")

REVENUE = "revenue"
"""The account purchases pay into and refunds come from."""


class AccountKind(StrEnum):
    """Who an account belongs to: a player, or the system."""

    PLAYER = "player"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Account:
    """An opened ledger account; ``allow_negative`` only ever for system accounts."""

    id: str
    kind: AccountKind
    allow_negative: bool
    created_at: datetime


def check_account_id(value: object) -> str:
    """Return ``value`` if it is a valid account id (1-200 printable ASCII, no spaces)."""
    if not isinstance(value, str) or _ACCOUNT_ID.fullmatch(value) is None:
        raise AccountError(
            f"account id must be 1-{MAX_ACCOUNT_ID_LENGTH} letters, digits or _.:@-/+=: "
            f"{str(value)[:60]!r}"
        )
    return value


def player_account(player_id: str) -> str:
    """Return the account id of a player: ``player_account("alice") == "player:alice"``."""
    return check_account_id(f"player:{player_id}")


def world_account(chain_id: str) -> str:
    """Return the account id of the outside world on one chain: ``world:<chain>``."""
    return check_account_id(f"world:{chain_id}")


def issuer_account(asset_id: str) -> str:
    """Return the account id that issues an in-game asset: ``issuer:<asset id>``."""
    return check_account_id(f"issuer:{asset_id}")


def pool_account(name: str) -> str:
    """Return the account id of a reward pool: ``pool:<name>``."""
    return check_account_id(f"pool:{name}")
