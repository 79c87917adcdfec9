"""What a transfer is: one exact positive amount of one asset from a debit to a credit account.

Pure data and validation; the ledger (``gamepay.ledger``) stores them. Each transfer has a
``kind`` (posting conventions in ``docs/architecture.md``) that rewards and reports read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from gamepay.core.accounts import check_account_id
from gamepay.core.money import check_amount
from gamepay.errors import AccountError, InvalidInput

__all__ = ["MAX_MEMO_LENGTH", "TransferKind", "TransferSpec", "batch_content_hash"]

MAX_MEMO_LENGTH = 500
"""The longest memo a transfer may carry."""


class TransferKind(StrEnum):
    """Why value moved; see "Posting conventions" in ``docs/architecture.md``."""

    TRANSFER = "transfer"
    DEPOSIT = "deposit"
    PURCHASE = "purchase"
    GRANT = "grant"
    WITHDRAWAL = "withdrawal"
    REWARD = "reward"
    REFUND = "refund"
    SPEND = "spend"
    TRADE = "trade"
    EXPIRY = "expiry"


@dataclass(frozen=True, slots=True)
class TransferSpec:
    """Move ``amount`` base units of ``asset`` (an asset id) from ``debit`` to ``credit``.

    Validated on construction: both account ids well-formed and different, ``0 < amount <
    2**256`` (an AmountError otherwise), ``kind`` one of ``TransferKind``, memo at most 500
    characters.
    """

    debit: str
    credit: str
    asset: str
    amount: int
    kind: TransferKind | str = TransferKind.TRANSFER
    memo: str | None = None

    def __post_init__(self) -> None:
        check_account_id(self.debit)
        check_account_id(self.credit)
        if self.debit == self.credit:
            raise AccountError(f"debit and credit are the same account: {self.debit!r}")
        if not isinstance(self.asset, str) or not 0 < len(self.asset) <= 200:
            raise InvalidInput(f"asset must be an asset id string: {self.asset!r}")
        check_amount(self.amount)
        if type(self.kind) is not TransferKind:
            try:
                kind = TransferKind(self.kind)
            except ValueError:
                raise InvalidInput(f"unknown transfer kind: {self.kind!r}") from None
            object.__setattr__(self, "kind", kind)
        if self.memo is not None and (
            not isinstance(self.memo, str) or len(self.memo) > MAX_MEMO_LENGTH
        ):
            raise InvalidInput(f"memo must be a string of at most {MAX_MEMO_LENGTH} characters")

    def content(self) -> tuple[str, str, str, int, str, str | None]:
        """The fields that decide whether a replayed id carries the same content."""
        kind = self.kind.value if isinstance(self.kind, TransferKind) else self.kind
        return (self.debit, self.credit, self.asset, self.amount, kind, self.memo)


def batch_content_hash(specs: Sequence[TransferSpec]) -> str:
    """A stable hex digest of a batch's transfers, in order, for idempotent replay checks.

    Each transfer is the ``repr`` of its content tuple (unambiguous for strings, ints and None),
    one per line.
    """
    text = "\n".join([repr(s.content()) for s in specs])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
