"""Starting orders: purchases and top-ups (the order, then its intent), and buys with a balance.

- **Orders first.** The local order is written (``creating``) before the intent is created, and
  the intent's ``order_data`` carries ``{"order_id": ...}``. A create whose outcome is unknown
  is resolved by finding the intent through its ``order_data`` (``lookup_intent``: the list,
  filtered by group key and time as a hint only, matched client-side on ``order_data`` over at
  most ``lookup_max_pages`` pages) before any retry; a scan cut short proves no absence, so it
  never leads to a second create. Should an order still get two intents, the second one's money
  is credited once (``gamepay.payments.twins``). A create the
  API refuses makes the order ``failed`` (``fail_order``, also used by the poller when no intent
  appears within ``creating_timeout``).
- **Buy with a balance**: the order (``completed``), one ledger batch (price player -> revenue,
  asset issuer -> player, for each part of a bundle) and its events in one transaction; nothing
  at all without the funds. On PostgreSQL, for an item without ``max_per_player``, that
  transaction is one ``gp_post_order`` statement (``gamepay.payments.buy_call``).
- **Catalog rules** (``gamepay.payments.limits``): a new order is refused outside its item's
  offer window (``OfferUnavailable``) and takes a ``max_per_player`` slot in the transaction that
  writes it (``PurchaseLimitReached`` when none is free).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft, publish_quietly, record_events
from gamepay.core.accounts import player_account
from gamepay.core.events import Event
from gamepay.core.intents import OrderKind, OrderStatus
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import (
    APIError,
    BalancePriceMissing,
    InvalidInput,
    OrderNotFound,
    OutcomeUnknownError,
    PaymentError,
    RateLimitError,
    TransportError,
)
from gamepay.kryptogo import wire
from gamepay.kryptogo.inputs import check_fiat_amount
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent
from gamepay.payments import repository as q
from gamepay.payments.apply import apply, balance_event_now, open_accounts
from gamepay.payments.buy_call import BalanceKey, post_order
from gamepay.payments.catalog import CatalogItem
from gamepay.payments.config import PaymentsConfig
from gamepay.payments.context import PaymentsContext
from gamepay.payments.decide import GrantSpec, Posting, grant_transfers, same_decimal
from gamepay.payments.errors import OfferUnavailable
from gamepay.payments.events import balance_change, balance_event, grant_event, status_event
from gamepay.payments.grants import order_columns, prepare_grants
from gamepay.payments.limits import release, reserve
from gamepay.payments.records import Lookup, Order, PaymentInstructions
from gamepay.payments.renewals import after_grant

__all__ = [
    "buy_with_balance",
    "check_player",
    "check_request_id",
    "creating_is_stuck",
    "fail_order",
    "get_order",
    "lookup_intent",
    "purchase",
    "top_up",
]

log = logging.getLogger("gamepay.payments.create")


def check_player(player_id: object) -> str:
    """``player_id`` if it is a usable player id, else InvalidInput (or AccountError)."""
    if not isinstance(player_id, str) or not 0 < len(player_id) <= 180:
        raise InvalidInput("player_id must be a string of 1-180 characters")
    player_account(player_id)  # AccountError for characters an account id cannot hold
    return player_id


def check_request_id(request_id: object, *, required: bool = False) -> str | None:
    """``request_id`` if it is a usable request id (or None when not required)."""
    if request_id is None and not required:
        return None
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 200:
        raise InvalidInput("request_id must be a string of 1-200 characters")
    if not request_id.isprintable():
        raise InvalidInput("request_id must be printable")
    return request_id


async def get_order(ctx: PaymentsContext, order_id: str) -> Order:
    """The order ``order_id``; raises OrderNotFound."""
    if not isinstance(order_id, str) or not order_id:
        raise OrderNotFound("no such order")
    return await ctx.store.read(lambda conn: q.get_order(conn, order_id))


async def purchase(
    ctx: PaymentsContext, player_id: str, sku: str, request_id: str | None
) -> PaymentInstructions:
    """Start buying ``sku`` with crypto (see ``Payments.purchase``)."""
    check_player(player_id)
    check_request_id(request_id)
    item = ctx.catalog.get(sku)
    grants = await prepare_grants(ctx, item.sku)  # registered now: the order carries the ids
    order = await _open(
        ctx,
        player_id,
        OrderKind.PURCHASE,
        request_id,
        sku=item.sku,
        fiat_amount=item.price,
        fiat_currency=item.currency,
        grants=grants,
        item=item,
    )
    return await _ensure_intent(ctx, order)


async def top_up(
    ctx: PaymentsContext,
    player_id: str,
    fiat_amount: str,
    fiat_currency: FiatCurrency | str,
    request_id: str | None,
) -> PaymentInstructions:
    """Start a top-up worth ``fiat_amount`` (see ``Payments.top_up``)."""
    check_player(player_id)
    check_request_id(request_id)
    # Before the order is written: KryptoGO refuses under 0.01, which would strand it in creating.
    fiat_amount = check_fiat_amount(fiat_amount)
    try:
        currency = FiatCurrency(fiat_currency)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    order = await _open(
        ctx,
        player_id,
        OrderKind.TOP_UP,
        request_id,
        sku=None,
        fiat_amount=fiat_amount,
        fiat_currency=currency,
    )
    return await _ensure_intent(ctx, order)


async def _open(
    ctx: PaymentsContext,
    player_id: str,
    kind: OrderKind,
    request_id: str | None,
    *,
    sku: str | None,
    fiat_amount: str,
    fiat_currency: FiatCurrency,
    grants: tuple[GrantSpec, ...] = (),
    item: CatalogItem | None = None,
) -> Order:
    """Write a ``creating`` order (or return the one ``request_id`` already made); a new
    order for an ``item`` outside its offer window is refused (OfferUnavailable)."""
    if request_id is not None:
        existing = await ctx.store.read(
            lambda conn: q.find_order_by_request(conn, player_id, request_id)
        )
        if existing is not None:
            return _same_request(existing, kind, sku, fiat_amount, fiat_currency)
    if item is not None:
        _check_on_sale(ctx, item)
    now = ctx.now()
    values = {
        "id": ctx.new_order_id(),
        "player_id": player_id,
        "kind": str(kind),
        "status": str(OrderStatus.CREATING),
        "request_id": request_id,
        "sku": sku,
        "fiat_amount": fiat_amount,
        "fiat_currency": str(fiat_currency),
        "group_key": ctx.config.group_key,
        **(order_columns(grants) if grants else {}),
        "next_poll_at": now + timedelta(seconds=ctx.config.poll_base),
        "created_at": now,
        "updated_at": now,
    }

    async def write(conn: AsyncConnection) -> Order:
        order = await q.insert_order(conn, values)
        if order is not None:
            if item is not None:  # a pending order holds its max_per_player slot
                await reserve(conn, item, player_id, order.id, now)
            return order
        assert request_id is not None  # only a taken request id skips the insert
        existing = await q.find_order_by_request(conn, player_id, request_id)
        assert existing is not None
        return _same_request(existing, kind, sku, fiat_amount, fiat_currency)

    return await ctx.store.run(write)


def _check_on_sale(ctx: PaymentsContext, item: CatalogItem) -> None:
    """OfferUnavailable unless ``item`` is inside its offer window now."""
    if not item.on_sale(ctx.now()):
        raise OfferUnavailable(f"{item.sku!r} is not on sale now")


def _same_request(
    order: Order, kind: OrderKind, sku: str | None, fiat: str | None, currency: Any
) -> Order:
    same = order.kind is kind and order.sku == sku
    if kind is not OrderKind.BALANCE:
        same = same and same_decimal(order.fiat_amount, fiat)
        same = same and order.fiat_currency == str(currency)
    if not same:
        raise InvalidInput(f"request_id was already used for another order ({order.id})")
    return order


def _order_data(order: Order) -> dict[str, Any]:
    data: dict[str, Any] = {"order_id": order.id, "player_id": order.player_id}
    data["kind"] = str(order.kind)
    if order.sku is not None:
        data["sku"] = order.sku
    return data


async def _ensure_intent(ctx: PaymentsContext, order: Order) -> PaymentInstructions:
    """Return the order's instructions, creating its intent only when no attempt can exist.

    Before every create after the first (ours or an earlier call's), the intent is looked
    up through its ``order_data``. A create attempt another caller made less than
    ``create_grace`` seconds ago may still be in flight: then this call does not create
    (it raises OutcomeUnknownError; repeat later), so an order never gets two intents.
    """
    config = ctx.config
    tries = 0
    mine = 0  # create attempts this call made (their outcome is known to be over)
    while True:
        if order.payment_intent_id is not None:
            return PaymentInstructions.from_order(order)
        if order.status is OrderStatus.FAILED:
            raise PaymentError(f"order {order.id} failed: its intent could not be created")
        if order.status is not OrderStatus.CREATING:
            raise PaymentError(f"order {order.id} is {order.status}, not a crypto order")
        if order.create_attempts > 0:
            found = await lookup_intent(ctx, order)
            if found.intent is not None:
                order = await _link(ctx, found.intent, order, source="lookup")
                continue
            if not found.complete:
                break  # the list was cut short: absence is unproven, never create again
            theirs = order.create_attempts > mine
            age = (ctx.now() - order.updated_at).total_seconds()
            if theirs and age < config.create_grace:
                break  # another caller's create may still be in flight
        if tries >= config.create_attempts:
            break
        tries += 1
        claimed = await _claim_create_attempt(ctx, order)
        if not claimed:  # another caller claimed the next attempt first
            order = await get_order(ctx, order.id)
            continue
        mine += 1
        order = replace(order, create_attempts=order.create_attempts + 1)
        ctx.hook("create.before_api")
        try:
            intent = await ctx.client.create_intent(
                fiat_amount=order.fiat_amount or "",
                fiat_currency=order.fiat_currency or "",
                callback_url=config.callback_url,
                order_data=_order_data(order),
                group_key=order.group_key,
            )
        except (OutcomeUnknownError, TransportError, RateLimitError) as exc:
            log.warning("order %s: create_intent outcome unknown or not sent: %s", order.id, exc)
            order = await get_order(ctx, order.id)
            continue
        except APIError as exc:
            await fail_order(ctx, order, f"create_intent refused: {exc.message}")
            raise
        ctx.hook("create.after_api")
        order = await _link(ctx, intent, order, source="create")
    raise OutcomeUnknownError(
        f"could not learn whether order {order.id}'s intent exists; repeat with the same "
        "request_id later, or let the poller resolve it",
        operation="create_intent",
        reference=order.id,
    )


async def _claim_create_attempt(ctx: PaymentsContext, order: Order) -> bool:
    now = ctx.now()
    return await ctx.store.run(
        lambda conn: q.claim_create_attempt(conn, order.id, order.create_attempts, now)
    )


async def _link(ctx: PaymentsContext, intent: PaymentIntent, order: Order, *, source: str) -> Order:
    """Apply an intent found for or created by ``order``; return the order after it."""
    result = await apply(ctx, intent, source)
    updated = await get_order(ctx, order.id)
    if updated.payment_intent_id is None:
        raise PaymentError(
            f"order {order.id}: its intent {intent.payment_intent_id} was refused ({result.reason})"
        )
    return updated


def creating_is_stuck(order: Order, now: datetime, config: PaymentsConfig) -> bool:
    """True when ``order`` may be closed as ``failed`` if its intent is still not found: it is
    ``creating``, older than ``creating_timeout``, and its last create attempt is older than
    ``create_grace`` (so no create call of it can still be in flight)."""
    if order.status is not OrderStatus.CREATING or order.payment_intent_id is not None:
        return False
    age = (now - order.created_at).total_seconds()
    quiet = (now - order.updated_at).total_seconds()
    return age >= config.creating_timeout and quiet >= config.create_grace


async def fail_order(
    ctx: PaymentsContext,
    order: Order,
    why: str,
    *,
    source: str = "create",
    attempts: int | None = None,
) -> bool:
    """Mark a ``creating`` order whose intent was refused or never appeared as ``failed``.

    With ``attempts``, only if no other create attempt was counted since the caller read the
    order. False (nothing written) when the order is no longer such an order. A failed order
    whose intent shows up after all still links to it (``gamepay.payments.decide``).
    """
    now = ctx.now()

    async def fail(conn: AsyncConnection) -> tuple[bool, list[Event]]:
        if not await q.fail_creating(conn, order.id, now, attempts=attempts):
            return False, []
        await release(conn, order, str(OrderStatus.FAILED))
        await q.log_status(
            conn,
            order_id=order.id,
            payment_intent_id=None,
            from_status=str(OrderStatus.CREATING),
            to_status=str(OrderStatus.FAILED),
            source=source[:32],
            now=now,
            note=why,
        )
        return True, await record_events(conn, [status_event(order, "failed")], now)

    failed, events = await ctx.store.run(fail)
    await publish_quietly(ctx.publisher, events)
    return failed


async def lookup_intent(ctx: PaymentsContext, order: Order) -> Lookup:
    """The intent whose ``order_data`` names ``order``, and whether the scan was complete.

    The filters (group key, creation time) only narrow what a server that honours them sends;
    every intent read is matched on ``order_data`` here, over at most ``lookup_max_pages``
    pages. ``complete`` is False when the listing was cut short: then "not found" proves nothing.
    """
    after = int(order.created_at.timestamp()) - ctx.config.clock_skew
    found: PaymentIntent | None = None
    listing = ctx.client.list_intents(
        group_key=order.group_key,
        created_after=max(after, 0),
        page_size=wire.MAX_PAGE_SIZE,
        max_pages=ctx.config.lookup_max_pages,
    )
    async for intent in listing:
        if intent.order_id == order.id:
            if found is not None and found.payment_intent_id != intent.payment_intent_id:
                log.error(
                    "order %s has two intents at the API: %s and %s",
                    order.id,
                    found.payment_intent_id,
                    intent.payment_intent_id,
                )
                continue
            found = intent
    return Lookup(found, not listing.truncated)


async def buy_with_balance(
    ctx: PaymentsContext, player_id: str, sku: str, request_id: str
) -> Order:
    """Buy ``sku`` with a balance the player holds (see ``Payments.buy_with_balance``)."""
    check_player(player_id)
    check_request_id(request_id, required=True)
    item = ctx.catalog.get(sku)
    if item.balance_price is None:
        raise BalancePriceMissing(f"{item.sku!r} cannot be bought with a balance")
    price = item.balance_price
    player = player_account(player_id)
    revenue = ctx.config.revenue_account
    await open_accounts(ctx, player_id)
    if not item.on_sale(ctx.now()):  # a replay of an order made in the window is answered
        existing = await ctx.store.read(
            lambda conn: q.find_order_by_request(conn, player_id, request_id)
        )
        if existing is None:
            _check_on_sale(ctx, item)
        else:
            return _same_request(existing, OrderKind.BALANCE, item.sku, None, None)
    grants = await prepare_grants(ctx, item.sku)
    now = ctx.now()
    order_id = ctx.new_order_id()
    values = {
        "id": order_id,
        "player_id": player_id,
        "kind": str(OrderKind.BALANCE),
        "status": str(OrderStatus.COMPLETED),
        "request_id": request_id,
        "sku": item.sku,
        "price_asset_id": price.asset_id,
        "price_amount": price.amount,
        **order_columns(grants),
        "granted": True,
        "created_at": now,
        "updated_at": now,
    }
    batch_id = f"buy:{order_id}"
    specs = [
        TransferSpec(
            player,
            revenue,
            price.asset_id,
            price.amount,
            TransferKind.PURCHASE,
            f"order {order_id} price",
        ),
        *grant_transfers(order_id, player, grants),
    ]
    wanted = [price.asset_id, *(grant.asset_id for grant in grants)]
    changes = [(price.asset_id, -price.amount)]
    changes.extend((grant.asset_id, grant.amount) for grant in grants)
    # gp_post_order writes the order, the batch and the events and nothing else: a buy that
    # needs another write in its transaction (a max_per_player slot, a timed grant's lot)
    # takes the path below
    has_lots = any(part.duration_s is not None for part in item.parts)
    one_call = item.max_per_player is None and _nets_nonzero(changes) and not has_lots
    if ctx.store.dialect == "postgresql" and one_call:
        # one round trip: the order, the batch and the events in one gp_post_order call
        assets = await ctx.ledger.get_assets(wanted)
        order = Order.from_row(q.order_row(values))
        drafts: list[tuple[EventDraft, BalanceKey | None]] = [
            (status_event(order, str(OrderStatus.COMPLETED)), None)
        ]
        drafts.extend((grant_event(order, g, assets[g.asset_id]), None) for g in grants)
        for asset_id, delta in changes:
            change = balance_change(order, assets[asset_id], delta)
            drafts.append((change, (player, asset_id)))
        posted = await post_order(ctx, values, batch_id, specs, drafts, now)
        if posted is None:  # the request id was used: that order, not a second charge
            return await _earlier_buy(ctx, player_id, request_id, item.sku)
        await publish_quietly(ctx.publisher, posted[1])
        return order

    async def buy(conn: AsyncConnection) -> tuple[Order, list[Event]]:
        order = await q.insert_order(conn, values)
        if order is None:  # the request id was used: that order, not a second charge
            existing = await q.find_order_by_request(conn, player_id, request_id)
            assert existing is not None
            return _same_request(existing, OrderKind.BALANCE, item.sku, None, None), []
        await reserve(conn, item, player_id, order_id, now)  # before the ledger locks balances
        batch = await ctx.ledger.batch(batch_id, specs, conn=conn)
        timed = await after_grant(ctx.catalog, conn, order, [Posting(batch_id, tuple(specs))], now)
        ctx.hook("buy.after_ledger")
        assets = await ctx.ledger.get_assets(wanted, conn=conn)
        drafts = [status_event(order, str(OrderStatus.COMPLETED))]
        drafts.extend(grant_event(order, grant, assets[grant.asset_id]) for grant in grants)
        for asset_id, delta in changes:
            after = batch.balances.get((player, asset_id))
            if after is None:  # price and grant in one asset netting to zero: read it
                drafts.append(await balance_event_now(ctx, conn, order, asset_id, delta))
            else:
                drafts.append(balance_event(order, assets[asset_id], delta, after))
        return order, await record_events(conn, [*drafts, *timed], now)

    order, events = await ctx.store.run(buy)
    await publish_quietly(ctx.publisher, events)
    return order


def _nets_nonzero(changes: list[tuple[str, int]]) -> bool:
    """Whether every asset ``changes`` move for the player moves by a nonzero net amount (then
    the posting leaves each of those balances, and the events can carry them)."""
    net: dict[str, int] = {}
    for asset_id, delta in changes:
        net[asset_id] = net.get(asset_id, 0) + delta
    return all(net.values())


async def _earlier_buy(ctx: PaymentsContext, player_id: str, request_id: str, sku: str) -> Order:
    """The buy the player already made with ``request_id`` (InvalidInput if it was another)."""
    existing = await ctx.store.read(
        lambda conn: q.find_order_by_request(conn, player_id, request_id)
    )
    assert existing is not None
    return _same_request(existing, OrderKind.BALANCE, sku, None, None)
