"""``apply``: read -> decide -> execute in ONE transaction; the only writer of an order's status.

``apply(ctx, intent, source)`` locks the order the intent names (``FOR UPDATE``), asks
``gamepay.payments.decide`` what the intent means, and executes the decision in the same
transaction: the link to the intent, the ledger batches (deterministic ids), the order update,
the status log and the outbox events; or the refusal (``gp_refused_transitions``), with the
money of a second intent for an already linked order credited once (``payments.twins``); or,
for an intent naming no local order, a row in ``gp_unknown_intents``. A crash can never grant
without recording or record without granting, and concurrent updates of one order serialize.
The events are published after the commit.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft, publish_quietly, record_events
from gamepay.core.accounts import AccountKind, player_account, world_account
from gamepay.core.assets import Asset, Token
from gamepay.core.intents import OrderKind
from gamepay.errors import AssetError, AssetNotFound, InvalidInput, OrderNotFound
from gamepay.kryptogo.models import PaymentIntent
from gamepay.payments import repository as q
from gamepay.payments.context import PaymentsContext
from gamepay.payments.decide import LINK_NOTE, Decision, decide, is_duplicate
from gamepay.payments.events import balance_event, grant_event, status_event
from gamepay.payments.grants import order_grants, prepare_grants
from gamepay.payments.limits import may_grant, release
from gamepay.payments.records import ApplyOutcome, ApplyResult, Order
from gamepay.payments.renewals import after_grant
from gamepay.payments.twins import credit_twin

__all__ = [
    "apply",
    "asset_of",
    "balance_event_now",
    "find_order",
    "open_accounts",
    "record_unknown",
]

log = logging.getLogger("gamepay.payments.apply")


async def open_accounts(ctx: PaymentsContext, player_id: str) -> None:
    """Open the player's account and the revenue account (the ledger remembers opened ones)."""
    await ctx.ledger.open_account(player_account(player_id))
    await ctx.ledger.open_account(ctx.config.revenue_account, kind=AccountKind.SYSTEM)


async def _prepare_ledger(ctx: PaymentsContext, order: Order, intent: PaymentIntent) -> None:
    """Open the accounts and register the assets a settlement of this order may touch."""
    try:
        token = Token(intent.payment_chain_id, intent.token_address, intent.symbol, intent.decimals)
    except AssetError:
        return  # refused inside the transaction (the intent does not match the order)
    await ctx.ledger.register_asset(token)
    world = world_account(token.chain_id)
    await ctx.ledger.open_account(world, kind=AccountKind.SYSTEM, allow_negative=True)
    await open_accounts(ctx, order.player_id)
    if order.kind is OrderKind.PURCHASE:
        if order.grant_asset_id is None and order.grant_parts is None:
            await prepare_grants(ctx, order.sku)
        else:  # registered when the order was written; its issuers may be new to this process
            for grant in order_grants(ctx, order):
                await ctx.ledger.open_account(
                    grant.issuer, kind=AccountKind.SYSTEM, allow_negative=True
                )


async def find_order(
    conn: AsyncConnection, intent: PaymentIntent, *, lock: bool = False
) -> Order | None:
    """The order linked to ``intent``, else the one its ``order_data`` names, else None."""
    order = await q.find_order_by_intent(conn, intent.payment_intent_id, lock=lock)
    if order is not None:
        return order
    order_id = intent.order_id
    if order_id is None:
        return None
    try:
        return await q.get_order(conn, order_id, lock=lock)
    except OrderNotFound:
        return None


async def apply(ctx: PaymentsContext, intent: PaymentIntent, source: str = "api") -> ApplyResult:
    """Apply what the API says about an intent to its order (see the module docstring).

    Pass intents fetched from the API (never a callback body). Duplicates are no-ops (answered
    from a read, without a write transaction).
    """
    if not isinstance(intent, PaymentIntent):
        raise InvalidInput("apply takes a PaymentIntent fetched from the API")
    source = source[:32]
    order = await ctx.store.read(lambda conn: find_order(conn, intent))
    if order is not None:
        if is_duplicate(order, intent, ctx.policy, order_grants(ctx, order), ctx.now()):
            status = str(order.status)
            return ApplyResult(
                ApplyOutcome.DUPLICATE, intent.payment_intent_id, order.id, status, status
            )
        await _prepare_ledger(ctx, order, intent)
    result = await ctx.store.run(lambda conn: _apply_in(ctx, conn, intent, source))
    ctx.hook("apply.after_commit")
    await publish_quietly(ctx.publisher, result.events)
    return result


async def _apply_in(
    ctx: PaymentsContext, conn: AsyncConnection, intent: PaymentIntent, source: str
) -> ApplyResult:
    """Read (the order row locked) -> decide -> execute, inside the caller's transaction."""
    now = ctx.now()
    intent_id = intent.payment_intent_id
    order = await find_order(conn, intent, lock=True)
    if order is None:
        await q.log_unknown(
            conn,
            payment_intent_id=intent_id,
            source=source,
            reason="no_local_order",
            now=now,
            body=intent.model_dump_json(),
        )
        log.warning("intent %s names no local order (%s)", intent_id, source)
        return ApplyResult(ApplyOutcome.UNKNOWN, intent_id, reason="no_local_order")
    grants = order_grants(ctx, order)
    decision = decide(order, intent, ctx.policy, grants, now)
    if decision.granted_now and not await may_grant(ctx, conn, decision.order, now):
        decision = decide(order, intent, ctx.policy, grants, now, credit_only=True)
    order = decision.order
    if decision.link is not None:
        await q.update_order(conn, order.id, decision.link)
        await q.log_status(
            conn,
            order_id=order.id,
            payment_intent_id=intent_id,
            from_status=decision.before,
            to_status=str(order.status),
            source=source,
            now=now,
            note=LINK_NOTE,
        )
    if decision.outcome is ApplyOutcome.REFUSED:
        refused = await _refuse(conn, decision, intent, source, now)
        if decision.reason != "other_intent":
            return refused
        # a second intent for this order: its money is credited once (gamepay.payments.twins)
        credited, drafts = await credit_twin(ctx, conn, order, intent)
        events = await record_events(conn, drafts, now) if drafts else []
        return replace(refused, credited=credited, events=tuple(events))
    if decision.outcome is ApplyOutcome.DUPLICATE:
        before = decision.before
        return ApplyResult(ApplyOutcome.DUPLICATE, intent_id, order.id, before, before)
    result = await _execute(ctx, conn, decision, intent, source, now)
    await release(conn, order, decision.status_after)  # no success ahead: the slot is free
    return result


async def _refuse(
    conn: AsyncConnection,
    decision: Decision,
    intent: PaymentIntent,
    source: str,
    now: datetime,
) -> ApplyResult:
    order = decision.order
    reason = decision.reason or "refused"
    await q.log_refused(
        conn,
        order_id=order.id,
        payment_intent_id=intent.payment_intent_id,
        from_status=str(order.status),
        to_status=str(intent.status),
        reason=reason,
        source=source,
        now=now,
        detail=decision.detail,
    )
    log.warning(
        "order %s: refused %s -> %s from %s (%s%s)",
        order.id,
        order.status,
        intent.status,
        source,
        reason,
        f": {decision.detail}" if decision.detail else "",
    )
    status = str(order.status)
    return ApplyResult(
        ApplyOutcome.REFUSED, intent.payment_intent_id, order.id, status, status, reason=reason
    )


async def _execute(
    ctx: PaymentsContext,
    conn: AsyncConnection,
    decision: Decision,
    intent: PaymentIntent,
    source: str,
    now: datetime,
) -> ApplyResult:
    """Post, update the order, log the moves and write the events of an applied decision."""
    order = decision.order
    settlement = decision.settlement
    assert settlement is not None
    for posting in settlement.postings:
        await ctx.ledger.batch(posting.batch_id, list(posting.transfers), conn=conn)
    timed: list[EventDraft] = []
    if settlement.granted_now:  # timed grants' lots, a subscription's period: with the grant
        timed = await after_grant(ctx.catalog, conn, order, settlement.postings, now)
    ctx.hook("apply.after_ledger")
    await q.update_order(conn, order.id, decision.updates)
    ctx.hook("apply.after_order_update")
    for move in decision.moves:
        await q.log_status(
            conn,
            order_id=order.id,
            payment_intent_id=intent.payment_intent_id,
            from_status=move.from_status,
            to_status=move.to_status,
            source=source,
            now=now,
            note=move.note,
        )
    drafts: list[EventDraft] = []
    if decision.status_changed:
        drafts.append(status_event(order, str(intent.status), decision.before))
    for granted in settlement.granted_now:
        drafts.append(grant_event(order, granted, await asset_of(ctx, conn, granted.asset_id)))
        drafts.append(await balance_event_now(ctx, conn, order, granted.asset_id, granted.amount))
    token_id = order.token_asset_id
    if settlement.credited and token_id is not None:
        drafts.append(await balance_event_now(ctx, conn, order, token_id, settlement.credited))
    events = await record_events(conn, [*drafts, *timed], now)
    ctx.hook("apply.after_events")
    return ApplyResult(
        decision.outcome,
        intent.payment_intent_id,
        order.id,
        decision.before,
        decision.status_after,
        granted=decision.granted_now,
        credited=settlement.credited,
        events=tuple(events),
    )


async def balance_event_now(
    ctx: PaymentsContext, conn: AsyncConnection, order: Order, asset_id: str, delta: int
) -> EventDraft:
    """A ``balance_changed`` draft with the player's balance as read in ``conn`` now."""
    balance = await ctx.ledger.balance(player_account(order.player_id), asset_id, conn=conn)
    return balance_event(order, await asset_of(ctx, conn, asset_id), delta, balance)


async def asset_of(ctx: PaymentsContext, conn: AsyncConnection, asset_id: str) -> Asset:
    """The registered asset ``asset_id`` (from the ledger's cache once known)."""
    found = await ctx.ledger.get_assets([asset_id], conn=conn)
    if asset_id not in found:
        raise AssetNotFound(f"asset {asset_id[:80]!r} is not registered")
    return found[asset_id]


async def record_unknown(
    ctx: PaymentsContext,
    intent_id: str,
    source: str,
    reason: str,
    body: bytes | str | None = None,
) -> None:
    """Record an intent id that names nothing known (here or at the API)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    now = ctx.now()
    await ctx.store.run(
        lambda conn: q.log_unknown(
            conn, payment_intent_id=intent_id, source=source, reason=reason, now=now, body=text
        )
    )
    log.warning("intent %s unknown (%s, %s)", intent_id, source, reason)
