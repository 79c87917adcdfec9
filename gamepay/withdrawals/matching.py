"""Which executed transfer, if any, is an unsettled withdrawal's: PURE (no I/O, no clock).

KryptoGO documents no transfer lookup and no field of ours that it stores (no note, no request
id), so a ``sending``/``unknown`` withdrawal is matched against a record of executed transfers
(the Studio's export, or the sandbox's record) on what the API itself records:

1. **Identity.** When the withdrawal knows its KryptoGO transfer id or tx hash, the records
   carrying it are its candidates (and must agree on wallet, amount, chain and token, else the
   withdrawal is ``mismatched``).
2. **Attributes.** Otherwise: same chain and token (when the record names them), the same wallet
   (normalized per chain) and exactly the same amount, executed inside
   ``[created_at - skew, created_at + window]``.

Records already attached to a withdrawal (``claimed`` ids and hashes) are never candidates, and
a record that could belong to several withdrawals settles none of them. Exactly one candidate
settles a withdrawal as ``sent``; several leave it ``ambiguous``; none leaves it as it is, or
``failed`` when the caller says the record is complete (an ``unknown`` one only: a ``sending``
one may still be in flight). Records whose ``status`` is not a success never settle anything,
but one that matches blocks ``failed`` (the transfer may still happen).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from gamepay.core.addresses import normalize_address
from gamepay.core.money import parse_amount
from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.errors import GamepayError
from gamepay.withdrawals.records import Withdrawal

__all__ = [
    "DEFAULT_SKEW",
    "DEFAULT_WINDOW",
    "SUCCESS_STATUSES",
    "Match",
    "MatchOutcome",
    "match_withdrawals",
]

DEFAULT_WINDOW = timedelta(minutes=30)
"""How long after a withdrawal was created its transfer may have been executed."""
DEFAULT_SKEW = timedelta(minutes=5)
"""How much earlier than ``created_at`` a record may say (clocks differ)."""
SUCCESS_STATUSES = frozenset({"success", "succeeded", "completed", "done", "sent"})
"""Record statuses (lower case) that mean executed; a record without a status counts as one."""


class MatchOutcome(StrEnum):
    """What reconciliation does with one withdrawal."""

    SENT = "sent"
    FAILED = "failed"
    NONE = "none"
    AMBIGUOUS = "ambiguous"
    MISMATCHED = "mismatched"


@dataclass(frozen=True, slots=True)
class Match:
    """The verdict for one withdrawal: the record settling it, or the candidates an operator
    should look at, and why."""

    withdrawal: Withdrawal
    outcome: MatchOutcome
    record: Any = None
    candidates: tuple[Any, ...] = ()
    why: str = ""


def _text(record: object, name: str) -> str | None:
    value = getattr(record, name, None)
    return value if isinstance(value, str) and value else None


def _time(record: object) -> datetime | None:
    value = getattr(record, "executed_at", None)
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else None
    if type(value) is int:
        return datetime.fromtimestamp(value, UTC)
    return None


def _succeeded(record: object) -> bool:
    status = _text(record, "status")
    return status is None or status.lower() in SUCCESS_STATUSES


def _differences(record: object, w: Withdrawal) -> list[str]:
    """What the record names differently from ``w`` (absent fields are not differences)."""
    found: list[str] = []
    chain = _text(record, "chain_id")
    if chain is not None and chain != w.chain_id:
        found.append("chain")
    token = _text(record, "contract_address")
    if token is not None and token.lower() != w.token_address.lower():
        found.append("token")
    amount = getattr(record, "amount", None)
    if amount is not None:
        try:
            units = parse_amount(amount, w.decimals) if isinstance(amount, str) else amount
        except GamepayError:
            units = None
        if units != w.amount:
            found.append("amount")
    wallet = _text(record, "wallet_address")
    if wallet is not None:
        try:
            same = normalize_address(w.chain_id, wallet) == w.address
        except GamepayError:
            same = False
        if not same:
            found.append("wallet")
    return found


def _attributes_match(record: object, w: Withdrawal, window: timedelta, skew: timedelta) -> bool:
    """Same wallet and exact amount (both required), chain and token, inside the window."""
    if _text(record, "wallet_address") is None or getattr(record, "amount", None) is None:
        return False
    if _differences(record, w):
        return False
    at = _time(record)
    return at is not None and w.created_at - skew <= at <= w.created_at + window


def _identity(record: object) -> tuple[str | None, str | None]:
    tx_hash = _text(record, "tx_hash")
    return _text(record, "transfer_id"), None if tx_hash is None else tx_hash.lower()


def match_withdrawals(
    withdrawals: Sequence[Withdrawal],
    records: Iterable[object],
    *,
    claimed_ids: frozenset[str] | set[str] = frozenset(),
    claimed_hashes: frozenset[str] | set[str] = frozenset(),
    window: timedelta = DEFAULT_WINDOW,
    skew: timedelta = DEFAULT_SKEW,
    absent_means_failed: bool = False,
) -> list[Match]:
    """Match each ``sending``/``unknown`` withdrawal to executed records (see the module doc).

    ``claimed_ids`` / ``claimed_hashes`` (lower case) are the transfer ids and tx hashes other
    withdrawals already hold; the records carrying them are nobody else's.
    """
    pool = []
    for record in records:
        transfer_id, tx_hash = _identity(record)
        if transfer_id is not None and transfer_id in claimed_ids:
            continue
        if tx_hash is not None and tx_hash in claimed_hashes:
            continue
        pool.append(record)
    found: dict[str, tuple[list[object], list[object], bool]] = {}
    for w in withdrawals:
        by_identity = [
            r
            for r in pool
            if (w.transfer_id is not None and _identity(r)[0] == w.transfer_id)
            or (w.tx_hash is not None and _identity(r)[1] == w.tx_hash.lower())
        ]
        if by_identity:
            found[w.id] = (by_identity, [], True)
            continue
        close = [r for r in pool if _attributes_match(r, w, window, skew)]
        executed = [r for r in close if _succeeded(r)]
        found[w.id] = (executed, [r for r in close if not _succeeded(r)], False)
    shared = Counter(id(r) for near, _, _ in found.values() for r in near)
    verdicts: list[Match] = []
    for w in withdrawals:
        executed, other, identified = found[w.id]
        listed = tuple(executed + other)
        if identified:
            if len(executed) > 1:
                verdicts.append(Match(w, MatchOutcome.AMBIGUOUS, None, listed, "several records"))
                continue
            (record,) = executed
            wrong = _differences(record, w)
            if wrong or not _succeeded(record):
                why = ", ".join(wrong) or f"status {_text(record, 'status')}"
                verdicts.append(Match(w, MatchOutcome.MISMATCHED, None, listed, why))
            else:
                verdicts.append(Match(w, MatchOutcome.SENT, record, listed, "transfer id/hash"))
            continue
        if len(executed) == 1 and not other and shared[id(executed[0])] == 1:
            verdicts.append(Match(w, MatchOutcome.SENT, executed[0], listed, "attributes"))
        elif executed or other:
            why = "several candidates" if len(listed) > 1 else "candidate shared or not final"
            verdicts.append(Match(w, MatchOutcome.AMBIGUOUS, None, listed, why))
        elif absent_means_failed and w.status is WithdrawalStatus.UNKNOWN:
            verdicts.append(Match(w, MatchOutcome.FAILED, None, (), "no executed record"))
        else:
            verdicts.append(Match(w, MatchOutcome.NONE, None, (), "no executed record"))
    return verdicts
