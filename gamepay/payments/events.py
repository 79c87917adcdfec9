"""The events an order's changes are told to its player as (drafts for the ``gp_events`` outbox).

``order_status_changed`` on every status move, ``asset_granted`` when a purchase grants, and
``balance_changed`` (with the ``delta`` and the balance after it) for every balance an order
moves. Amounts are integers of base units written as strings; every event naming an asset
also carries its display ``code`` and ``decimals``, so it can be shown in the asset's units
without another read (what the websocket adapter's pushes do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gamepay.bus.outbox import EventDraft
from gamepay.core.events import EventType
from gamepay.ledger import asset_code
from gamepay.payments.decide import GrantSpec
from gamepay.payments.records import Order

if TYPE_CHECKING:
    from gamepay.core.assets import Asset
    from gamepay.ledger.records import Balance

__all__ = ["balance_change", "balance_event", "grant_event", "status_event"]


def status_event(order: Order, status: str, previous: str | None = None) -> EventDraft:
    """``order_status_changed``: ``order`` is now at ``status`` (was ``previous``, default its
    recorded status)."""
    return EventDraft(
        order.player_id,
        EventType.ORDER_STATUS_CHANGED,
        {
            "order_id": order.id,
            "kind": str(order.kind),
            "sku": order.sku,
            "status": status,
            "previous": previous if previous is not None else str(order.status),
            "payment_intent_id": order.payment_intent_id,
        },
    )


def grant_event(order: Order, grant: GrantSpec, asset: Asset) -> EventDraft:
    """``asset_granted``: the order granted ``grant`` (of ``asset``) to its player."""
    return EventDraft(
        order.player_id,
        EventType.ASSET_GRANTED,
        {
            "order_id": order.id,
            "sku": order.sku,
            "asset_id": grant.asset_id,
            "code": asset_code(asset),
            "decimals": asset.decimals,
            "amount": str(grant.amount),
        },
    )


def balance_event(order: Order, asset: Asset, delta: int, balance: Balance) -> EventDraft:
    """``balance_changed``: the order moved the player's ``asset`` by ``delta`` to
    ``balance``."""
    draft = balance_change(order, asset, delta)
    draft.payload.update(available=str(balance.available), held=str(balance.held))
    return draft


def balance_change(order: Order, asset: Asset, delta: int) -> EventDraft:
    """``balance_changed`` without the balance after it (``available``, ``held``): for a
    statement that writes the event with the balance it leaves (``gamepay.payments.buy_call``)."""
    return EventDraft(
        order.player_id,
        EventType.BALANCE_CHANGED,
        {
            "order_id": order.id,
            "asset_id": asset.id,
            "code": asset_code(asset),
            "decimals": asset.decimals,
            "delta": str(delta),
        },
    )
