"""What a purchase grants: the catalog item's parts, as stored on its order and settled.

An item grants one part (``grant``) or several (a bundle's ``grants``). When an order is
written it stores its parts (``order_columns``): one part in ``grant_asset_id`` /
``grant_amount`` (revision 0006), a bundle's in ``grant_parts`` as JSON text (revision 0010,
``[{"asset_id": ..., "amount": "<base units>"}]``), so it settles exactly as sold even after
the catalog changed. ``order_grants`` reads them back (orders written before 0006 fall back to
the catalog). Every part is granted in the order's one ledger batch, or none is.
"""

from __future__ import annotations

import json
from typing import Any

from gamepay.core.accounts import AccountKind, issuer_account
from gamepay.core.intents import OrderKind
from gamepay.errors import PaymentError
from gamepay.payments.context import PaymentsContext
from gamepay.payments.decide import GrantSpec
from gamepay.payments.records import Order

__all__ = [
    "decode_parts",
    "encode_parts",
    "grants_for",
    "order_columns",
    "order_grants",
    "prepare_grants",
]


def grants_for(ctx: PaymentsContext, sku: str | None) -> tuple[GrantSpec, ...]:
    """What buying ``sku`` grants, every part (empty for no sku); raises UnknownSku."""
    if sku is None:
        return ()
    return tuple(
        GrantSpec(part.asset.id, part.amount, issuer_account(part.asset.id))
        for part in ctx.catalog.get(sku).parts
    )


async def prepare_grants(ctx: PaymentsContext, sku: str | None) -> tuple[GrantSpec, ...]:
    """Register every asset ``sku`` grants and open their issuers; return the grants."""
    if sku is None:
        return ()
    for part in ctx.catalog.get(sku).parts:
        await ctx.ledger.register_asset(part.asset)
    specs = grants_for(ctx, sku)
    for spec in specs:
        await ctx.ledger.open_account(spec.issuer, kind=AccountKind.SYSTEM, allow_negative=True)
    return specs


def encode_parts(grants: tuple[GrantSpec, ...]) -> str:
    """A bundle's parts as the JSON text ``gp_orders.grant_parts`` holds."""
    return json.dumps(
        [{"asset_id": g.asset_id, "amount": str(g.amount)} for g in grants], separators=(",", ":")
    )


def decode_parts(text: str) -> tuple[GrantSpec, ...]:
    """The parts ``encode_parts`` wrote; PaymentError for text it did not write."""
    try:
        raw = json.loads(text)
        return tuple(
            GrantSpec(part["asset_id"], int(part["amount"]), issuer_account(part["asset_id"]))
            for part in raw
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise PaymentError(f"unreadable grant_parts on an order: {exc}") from None


def order_columns(grants: tuple[GrantSpec, ...]) -> dict[str, Any]:
    """The ``gp_orders`` columns that record ``grants`` (one part, or a bundle's parts)."""
    if len(grants) == 1:
        return {"grant_asset_id": grants[0].asset_id, "grant_amount": grants[0].amount}
    return {"grant_parts": encode_parts(grants)}


def order_grants(ctx: PaymentsContext, order: Order) -> tuple[GrantSpec, ...]:
    """What settling ``order`` grants: the parts stored on it, else (orders written before
    revision 0006) its sku's in the catalog; empty for a top-up. Raises UnknownSku."""
    if order.kind is not OrderKind.PURCHASE:
        return ()
    if order.grant_parts is not None:
        return decode_parts(order.grant_parts)
    if order.grant_asset_id is not None and order.grant_amount is not None:
        asset_id = order.grant_asset_id
        return (GrantSpec(asset_id, order.grant_amount, issuer_account(asset_id)),)
    return grants_for(ctx, order.sku)
