"""A second intent for one order ("twin"): money paid to it is credited once, never lost.

Creates whose outcome is unknown are resolved by lookup before any retry, so an order should
never get two intents. But the list call is undocumented (it may ignore our filters or page
differently), so this module is the safety net: when an intent names an order that is linked to
ANOTHER intent, the order is not touched (``decide`` refuses it as ``other_intent``) and the
money the twin received is deposited to the player's token balance instead, exactly once:

- only once the twin is ``success`` or ``expired`` (money on an ``insufficient_*`` intent is
  refunded on chain by KryptoGO, money on a ``pending`` one may still grow);
- as ledger transfers ``twin:<intent>:<n>`` (n = 1, 2, ...), each the part of ``paid_total``
  not yet credited, read back from the ledger inside the caller's transaction (the order row is
  locked, so concurrent copies of the same update serialize), so replays post nothing twice and
  later money on the twin is credited too.

Nothing is granted for a twin's money: the purchase belongs to the linked intent.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft
from gamepay.core.accounts import player_account, world_account
from gamepay.core.assets import Token
from gamepay.core.intents import PaymentStatus
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.kryptogo.models import PaymentIntent
from gamepay.payments.context import PaymentsContext
from gamepay.payments.decide import paid_total
from gamepay.payments.events import balance_event
from gamepay.payments.records import Order

__all__ = ["credit_twin", "twin_transfer_id"]

log = logging.getLogger("gamepay.payments.twins")

_FINAL_WITH_MONEY = (PaymentStatus.SUCCESS, PaymentStatus.EXPIRED)
_MAX_PARTS = 1000


def twin_transfer_id(intent_id: str, part: int) -> str:
    """The ledger transfer id of the ``part``-th credit of a twin intent's money."""
    return f"twin:{intent_id}:{part}"


async def credit_twin(
    ctx: PaymentsContext, conn: AsyncConnection, order: Order, intent: PaymentIntent
) -> tuple[int, list[EventDraft]]:
    """Credit what ``intent`` (a twin of ``order``'s linked intent) received and is not yet
    credited; return the amount credited now and the ``balance_changed`` draft (if any)."""
    if intent.status not in _FINAL_WITH_MONEY:
        return 0, []
    total = paid_total(intent)
    credited, part = 0, 1
    while part <= _MAX_PARTS:
        found = await ctx.ledger.get_transfer(
            twin_transfer_id(intent.payment_intent_id, part), conn=conn
        )
        if found is None:
            break
        credited += found.amount
        part += 1
    due = total - credited
    if due <= 0:
        return 0, []
    token = Token(intent.payment_chain_id, intent.token_address, intent.symbol, intent.decimals)
    player = player_account(order.player_id)
    await ctx.ledger.transfer(
        twin_transfer_id(intent.payment_intent_id, part),
        TransferSpec(
            world_account(token.chain_id),
            player,
            token.id,
            due,
            TransferKind.DEPOSIT,
            f"order {order.id}: paid to its second intent {intent.payment_intent_id}",
        ),
        conn=conn,
    )
    log.error(
        "order %s has a second intent %s (linked: %s): its %d base units are credited to %s",
        order.id,
        intent.payment_intent_id,
        order.payment_intent_id,
        due,
        order.player_id,
    )
    after = await ctx.ledger.balance(player, token.id, conn=conn)
    return due, [balance_event(order, token, due, after)]
