"""The events a withdrawal move announces (drafts for the ``gp_events`` outbox); pure.

``withdrawal_status_changed`` on every move, ``balance_changed`` (``delta`` of the available
balance) on hold, post and void. Amounts are integers of base units written as strings, beside
the token's ``decimals`` and display ``code`` (its symbol).
"""

from __future__ import annotations

from gamepay.bus.outbox import EventDraft
from gamepay.core.events import EventType
from gamepay.withdrawals.records import Withdrawal

__all__ = ["balance_draft", "status_draft"]


def status_draft(w: Withdrawal, code: str) -> EventDraft:
    """``withdrawal_status_changed`` for ``w`` (of the token shown as ``code``) after the move.

    ``error`` is the stable error code (e.g. ``treasury_insufficient``), never the error's text:
    the event reaches the player.
    """
    return EventDraft(
        w.player_id,
        EventType.WITHDRAWAL_STATUS_CHANGED,
        {
            "withdrawal_id": w.id,
            "request_id": w.request_id,
            "status": str(w.status),
            "asset_id": w.asset_id,
            "code": code,
            "amount": str(w.amount),
            "decimals": w.decimals,
            "chain_id": w.chain_id,
            "address": w.address,
            "transfer_id": w.transfer_id,
            "tx_hash": w.tx_hash,
            "error": w.error_code,
        },
    )


def balance_draft(w: Withdrawal, code: str, delta: int, available: int, held: int) -> EventDraft:
    """``balance_changed`` for ``w``'s player; ``delta`` is the change of the available balance."""
    return EventDraft(
        w.player_id,
        EventType.BALANCE_CHANGED,
        {
            "withdrawal_id": w.id,
            "asset_id": w.asset_id,
            "code": code,
            "delta": str(delta),
            "available": str(available),
            "held": str(held),
            "decimals": w.decimals,
        },
    )
