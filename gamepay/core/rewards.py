"""Reward run and payout statuses (pure data; the runner moves rows between them)."""

from __future__ import annotations

__all__ = ["PAYOUT_PAID", "PAYOUT_PENDING", "RUN_PAID", "RUN_PAYING", "RUN_SENDING"]

RUN_PAYING = "paying"
"""A computed run with payouts still pending."""
RUN_SENDING = "sending"
"""An on-chain run: every payout is in the ledger, some are not yet sent to wallets."""
RUN_PAID = "paid"
"""Every payout of the run is paid."""
PAYOUT_PENDING = "pending"
"""A payout not yet posted to the ledger."""
PAYOUT_PAID = "paid"
"""A payout posted to the ledger (``transfer_id`` set)."""
