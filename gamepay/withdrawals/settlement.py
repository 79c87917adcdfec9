"""Settling withdrawals after the fact: an operator's ``resolve``, start-up ``recover``, and
``reconcile_unknown`` from a record of executed transfers (see ``gamepay.withdrawals.service``'s
module doc for the guarantees and why a ``held`` withdrawal is voided on recovery).
"""

from __future__ import annotations

import builtins
import inspect
import logging
from datetime import timedelta
from typing import Any

from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.errors import IllegalTransition, InvalidInput
from gamepay.store import Store
from gamepay.withdrawals.matching import (
    DEFAULT_SKEW,
    DEFAULT_WINDOW,
    Match,
    MatchOutcome,
    match_withdrawals,
)
from gamepay.withdrawals.reads import WithdrawalReads
from gamepay.withdrawals.records import (
    ExecutedSource,
    MoveHook,
    Withdrawal,
    WithdrawalReconcileReport,
    WithdrawalRecoveryReport,
)
from gamepay.withdrawals.repository import WithdrawalRepository
from gamepay.withdrawals.transitions import Mover

__all__ = ["Settlement"]

log = logging.getLogger("gamepay.withdrawals.settlement")

_S = WithdrawalStatus


class Settlement(WithdrawalReads):
    """The operator side of the withdrawals service (``Withdrawals`` is one): settle what the
    transfer call left open, through ``mover`` (the one way a withdrawal moves)."""

    def __init__(self, store: Store, rows: WithdrawalRepository, mover: Mover) -> None:
        super().__init__(store, rows)
        self._mover = mover

    async def resolve(
        self,
        withdrawal_id: str,
        *,
        sent: bool,
        tx_hash: str | None = None,
        transfer_id: str | None = None,
        include_sending: bool = False,
        also: MoveHook | None = None,
    ) -> Withdrawal:
        """Settle an ``unknown`` withdrawal: ``sent=True`` posts the hold, False voids it.

        Anything but an ``unknown`` withdrawal (or ``sending`` with ``include_sending``: one an
        operator judged stuck) is refused with IllegalTransition; WithdrawalNotFound when there
        is no such withdrawal. ``also`` joins work to the move's transaction (e.g. an audit row).
        """
        if type(sent) is not bool:
            raise InvalidInput("sent must be True or False")
        for name, value in (("tx_hash", tx_hash), ("transfer_id", transfer_id)):
            if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 200):
                raise InvalidInput(f"{name} must be a string of 1-200 characters")
        target = _S.SENT if sent else _S.FAILED
        error = None if sent else "resolved as not sent"
        current, moved = await self._mover.transition(
            withdrawal_id,
            {_S.UNKNOWN, _S.SENDING} if include_sending else {_S.UNKNOWN},
            target,
            transfer_id=transfer_id,
            tx_hash=tx_hash,
            error=error,
            also=also,
        )
        if not moved:
            raise IllegalTransition(
                f"withdrawal {withdrawal_id} is {current.status}: only unknown ones are resolved"
            )
        log.info("withdrawal %s resolved as %s", withdrawal_id, target)
        return current

    async def recover(self) -> WithdrawalRecoveryReport:
        """At start-up: ``sending`` -> ``unknown`` (hold kept); ``held`` -> ``failed`` (voided).

        Run it when no other process of this deployment is sending withdrawals. See the module
        doc for why a ``held`` withdrawal is voided rather than sent.
        """
        unknown: list[Withdrawal] = []
        failed: list[Withdrawal] = []
        for w in await self.list(status=_S.SENDING):
            after, moved = await self._mover.transition(
                w.id, {_S.SENDING}, _S.UNKNOWN, error="interrupted while sending: outcome unknown"
            )
            if moved:
                unknown.append(after)
        for w in await self.list(status=_S.HELD):
            after, moved = await self._mover.transition(
                w.id, {_S.HELD}, _S.FAILED, error="interrupted before sending: hold voided"
            )
            if moved:
                failed.append(after)
        if unknown or failed:
            log.warning(
                "recovery: %d withdrawal(s) now unknown, %d voided", len(unknown), len(failed)
            )
        return WithdrawalRecoveryReport(tuple(unknown), tuple(failed))

    async def reconcile_unknown(
        self,
        executed: ExecutedSource,
        *,
        absent_means_failed: bool = False,
        window: timedelta = DEFAULT_WINDOW,
        skew: timedelta = DEFAULT_SKEW,
        dry_run: bool = False,
    ) -> WithdrawalReconcileReport:
        """Settle ``unknown`` (and ``sending``) withdrawals from a record of executed transfers.

        ``executed``: records (``ExecutedTransferLike``) or a (possibly async) callable returning
        them: the Studio's transfer export, or the sandbox's record. Matching is
        ``gamepay.withdrawals.matching``: exactly one candidate makes a withdrawal ``sent``;
        several, or a record with its id but other details, leave it for an operator (listed in
        ``candidates``); none leaves it as it is, or makes an ``unknown`` one ``failed`` with
        ``absent_means_failed=True`` (say so only when the record is complete for the period).
        ``dry_run`` changes nothing and reports what would be done.
        """
        source: Any = executed() if callable(executed) else executed
        if inspect.isawaitable(source):
            source = await source
        records = builtins.list(source)
        open_ = await self.list(status=_S.UNKNOWN) + await self.list(status=_S.SENDING)
        ids, hashes = await self._store.read(self._rows.claimed_transfers)
        verdicts = match_withdrawals(
            open_,
            records,
            claimed_ids=ids,
            claimed_hashes=hashes,
            window=window,
            skew=skew,
            absent_means_failed=absent_means_failed,
        )
        done: dict[MatchOutcome, builtins.list[Withdrawal]] = {o: [] for o in MatchOutcome}
        candidates: dict[str, tuple[Any, ...]] = {}
        for verdict in verdicts:
            settled = verdict.withdrawal if dry_run else await self._settle(verdict)
            if settled is not None:
                done[verdict.outcome].append(settled)
            if verdict.outcome in (MatchOutcome.AMBIGUOUS, MatchOutcome.MISMATCHED):
                candidates[verdict.withdrawal.id] = verdict.candidates
                log.error(
                    "withdrawal %s left for an operator (%s): %d candidate transfer(s)",
                    verdict.withdrawal.id,
                    verdict.why,
                    len(verdict.candidates),
                )
        return WithdrawalReconcileReport(
            sent=tuple(done[MatchOutcome.SENT]),
            failed=tuple(done[MatchOutcome.FAILED]),
            still_unknown=tuple(done[MatchOutcome.NONE]),
            mismatched=tuple(done[MatchOutcome.MISMATCHED]),
            ambiguous=tuple(done[MatchOutcome.AMBIGUOUS]),
            candidates=candidates,
            dry_run=dry_run,
        )

    async def _settle(self, verdict: Match) -> Withdrawal | None:
        """Apply one verdict; None when the withdrawal was settled concurrently meanwhile."""
        w = verdict.withdrawal
        if verdict.outcome is MatchOutcome.SENT:
            record = verdict.record
            tx_hash = getattr(record, "tx_hash", None)
            after, moved = await self._mover.transition(
                w.id,
                {_S.UNKNOWN, _S.SENDING},
                _S.SENT,
                transfer_id=getattr(record, "transfer_id", None),
                tx_hash=tx_hash if isinstance(tx_hash, str) and tx_hash else None,
            )
        elif verdict.outcome is MatchOutcome.FAILED:
            after, moved = await self._mover.transition(
                w.id, {_S.UNKNOWN}, _S.FAILED, error="reconciled as not sent (no executed transfer)"
            )
        else:
            return w
        if moved:
            log.info("withdrawal %s reconciled as %s (%s)", w.id, after.status, verdict.why)
        return after if moved else None
