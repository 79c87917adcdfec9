"""``PreparedBatch``: a batch checked and turned into ``gp_post``'s arguments (PostgreSQL), for a
caller that runs the posting inside a statement of its own (e.g. ``gp_post_order``: an order, its
posting and its events in one round trip).

The caller passes ``args`` to ``gp_post`` (or to a function that calls it with them) and hands
the answer rows to ``finish``, which raises what ``Ledger.batch`` raises for a refused posting
(``funds``: InsufficientFunds, ``range``: AmountRangeError, ``taken``: IdempotencyConflict; a
prepared batch never replays) or returns the batch's record with the balances it left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NoReturn

from gamepay.core.transfers import TransferSpec
from gamepay.ledger.ops import Outcome
from gamepay.ledger.pg import outcome_of
from gamepay.ledger.postings import Posting, applied, batch_record, refuse
from gamepay.ledger.records import BatchRecord

__all__ = ["PreparedBatch"]


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch ready for ``gp_post``: its ``args`` (in order) and how to read the answer."""

    batch_id: str
    specs: tuple[TransferSpec, ...]
    posting: Posting
    at: datetime
    args: list[Any]

    def finish(self, answer: Sequence[Any]) -> BatchRecord:
        """The record of the written batch from ``gp_post``'s answer rows; raises if refused."""
        outcome = outcome_of(answer)
        if outcome.refused is not None:
            refuse(outcome)
        return batch_record(self.batch_id, self.specs, applied(self.posting, outcome, self.at))

    def refused(
        self, why: Literal["funds", "range", "taken"], key: tuple[str, str] | None
    ) -> NoReturn:
        """Raise the error of a refusal the caller's statement reported (and rolled back)."""
        refuse(Outcome(why, key))
