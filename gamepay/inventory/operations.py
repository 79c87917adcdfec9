"""What an inventory posting is made of, as pure data: grants and spends of in-game assets.

A grant moves ``amount`` base units of an asset from its issuer (``issuer:<asset id>``) to the
player (transfer kind ``grant``); a spend moves them from the player back to the issuer (kind
``spend``). A posting is the ledger batch of its operations' transfers, in order, under the id
``posting_id(player, key)``; the reason is every transfer's memo, so replaying a key with other
operations or another reason is a different batch body (a conflict). No I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from gamepay.core.accounts import issuer_account, player_account
from gamepay.core.money import check_amount
from gamepay.core.transfers import MAX_MEMO_LENGTH, TransferKind, TransferSpec
from gamepay.errors import InvalidInput
from gamepay.ledger.lots import MAX_DURATION_S

__all__ = [
    "MAX_DURATION_S",
    "MAX_KEY_LENGTH",
    "MAX_OPERATIONS",
    "Operation",
    "OperationKind",
    "check_duration",
    "check_key",
    "check_operations",
    "check_reason",
    "net_deltas",
    "posting_id",
    "transfer_specs",
]

MAX_KEY_LENGTH = 100
"""The longest idempotency key a caller may choose."""

MAX_OPERATIONS = 100
"""The most operations one ``execute`` may carry."""


class OperationKind(StrEnum):
    """Which way an operation moves an asset: to the player, or away from the player."""

    GRANT = "grant"
    SPEND = "spend"


@dataclass(frozen=True, slots=True)
class Operation:
    """One grant or spend of ``amount`` base units of ``asset`` (an asset id, e.g.
    ``item:sword``); validated on construction (``0 < amount < 2**256``). A grant may carry
    ``duration_s``: the granted amount expires that many seconds after the posting."""

    kind: OperationKind
    asset: str
    amount: int
    duration_s: int | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", OperationKind(self.kind))
        except ValueError:
            raise InvalidInput(f"operation kind must be grant or spend: {self.kind!r}") from None
        if not isinstance(self.asset, str) or not 0 < len(self.asset) <= 190:
            raise InvalidInput(f"asset must be an asset id string: {str(self.asset)[:60]!r}")
        check_amount(self.amount)
        if self.duration_s is not None:
            check_duration(self.duration_s)
            if self.kind is not OperationKind.GRANT:
                raise InvalidInput("only a grant may carry a duration")

    @classmethod
    def grant(cls, asset: str, amount: int, *, duration_s: int | None = None) -> Operation:
        """An operation giving the player ``amount`` of ``asset`` from its issuer (expiring
        ``duration_s`` seconds after the posting when given)."""
        return cls(OperationKind.GRANT, asset, amount, duration_s)

    @classmethod
    def spend(cls, asset: str, amount: int) -> Operation:
        """An operation taking ``amount`` of ``asset`` from the player back to its issuer."""
        return cls(OperationKind.SPEND, asset, amount)

    @property
    def delta(self) -> int:
        """The change to the player's balance: ``+amount`` for a grant, ``-amount`` for a spend."""
        return self.amount if self.kind is OperationKind.GRANT else -self.amount


def check_duration(duration_s: object) -> int:
    """``duration_s`` if it is an int of 1 second to about a century, else InvalidInput."""
    if type(duration_s) is not int or not 0 < duration_s <= MAX_DURATION_S:
        raise InvalidInput(f"a duration must be a whole number of seconds in 1..{MAX_DURATION_S}")
    return duration_s


def check_key(key: object) -> str:
    """``key`` if it is a printable string of 1-100 characters, else InvalidInput."""
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"idempotency key must be a printable string of 1-{MAX_KEY_LENGTH} characters"
        )
    return key


def check_reason(reason: object) -> str:
    """``reason`` if it is a printable string of 1-500 characters, else InvalidInput."""
    if (
        not isinstance(reason, str)
        or not 0 < len(reason) <= MAX_MEMO_LENGTH
        or not reason.isprintable()
    ):
        raise InvalidInput(f"reason must be a printable string of 1-{MAX_MEMO_LENGTH} characters")
    return reason


def check_operations(operations: object) -> tuple[Operation, ...]:
    """The operations as a tuple: 1-100 ``Operation`` objects, each asset at most once.

    One asset appearing twice (two grants, or a grant and a spend) is InvalidInput: combine the
    amounts, so every posting changes each of its assets by exactly one non-zero delta.
    """
    if isinstance(operations, Operation) or not isinstance(operations, Sequence):
        raise InvalidInput("operations must be a sequence of Operation")
    ops = tuple(operations)
    if not 0 < len(ops) <= MAX_OPERATIONS:
        raise InvalidInput(f"a posting takes 1-{MAX_OPERATIONS} operations")
    seen: set[str] = set()
    for op in ops:
        if not isinstance(op, Operation):
            raise InvalidInput("operations must be a sequence of Operation")
        if op.asset in seen:
            raise InvalidInput(f"asset {op.asset!r} appears twice: combine its operations")
        seen.add(op.asset)
    return ops


def posting_id(player_id: str, key: str) -> str:
    """The ledger batch id of a player's posting under ``key``: keys are per player, and the
    player id's length is written out so no two (player, key) pairs share an id."""
    player_account(player_id)
    return f"inv:{len(player_id)}:{player_id}:{check_key(key)}"


def transfer_specs(
    player_id: str, operations: Sequence[Operation], reason: str
) -> list[TransferSpec]:
    """The ledger transfers of ``operations``, in order, each with ``reason`` as its memo."""
    player = player_account(player_id)
    specs = []
    for op in operations:
        issuer = issuer_account(op.asset)
        if op.kind is OperationKind.GRANT:
            debit, credit, kind = issuer, player, TransferKind.GRANT
        else:
            debit, credit, kind = player, issuer, TransferKind.SPEND
        specs.append(TransferSpec(debit, credit, op.asset, op.amount, kind, reason))
    return specs


def net_deltas(operations: Sequence[Operation]) -> dict[str, int]:
    """The change each operation makes to the player's balance of its asset, by asset id."""
    return {op.asset: op.delta for op in operations}
