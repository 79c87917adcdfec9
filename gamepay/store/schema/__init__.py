"""Every gamepay table, one module per area, all Core ``Table`` objects on one ``metadata``.

The schema itself is created by the Alembic revisions (explicit ``op.create_table`` calls that
must stay in step with these definitions; a test compares them). Every name is prefixed ``gp_``.
Amounts are ``Amount`` columns and timestamps ``UTCDateTime`` (see ``gamepay.store.types``).
Each area's tables are read and written only by that area's repository (the ledger owns its
own); other areas go through that area's API.

- ``ledger``: ``gp_assets``, ``gp_accounts``, ``gp_balances``, ``gp_transfers``, ``gp_holds``,
  ``gp_batches``, ``gp_ledger_verifications``;
- ``payments``: ``gp_orders``, ``gp_intent_log``, ``gp_refused_transitions``,
  ``gp_unknown_intents``, ``gp_callback_signatures``;
- ``events``: ``gp_events`` (the outbox);
- ``withdrawals``: ``gp_withdrawals``, ``gp_withdrawal_days``, ``gp_withdrawal_exports``;
- ``rewards``: ``gp_reward_runs``, ``gp_reward_payouts``;
- ``audit``: ``gp_audit_log`` (operator actions);
- ``trades``: ``gp_trades`` (player-to-player trades, ``gamepay.inventory.trades``);
- ``lots``: ``gp_lots`` (time-limited grants; owned by ``gamepay.ledger.lots``);
- ``subscriptions``: ``gp_subscriptions``, ``gp_subscription_periods``.
"""

from gamepay.store.schema import (
    audit,
    events,
    ledger,
    lots,
    payments,
    rewards,
    subscriptions,
    trades,
    withdrawals,
)
from gamepay.store.schema.base import metadata

__all__ = [
    "audit",
    "events",
    "ledger",
    "lots",
    "metadata",
    "payments",
    "rewards",
    "subscriptions",
    "trades",
    "withdrawals",
]
