"""What an intent's money means for the ledger, pure: which batches to post for an order.

Posting rules (posting conventions in ``docs/architecture.md``); every batch id is derived from
the order (and, for later money, the running total), so a replay posts nothing twice:

- **success**, first time: ``pay:<order>``. A purchase is deposit(world:<chain> -> player, the
  total paid) + purchase(player -> revenue, the quoted price) + grant(issuer -> player). A top-up
  is deposit(world -> player, the total paid).
- **excess** (paid above the quote): policy ``"credit"`` (default) leaves the difference on the
  player's token balance; ``"revenue"`` makes the purchase take all of it.
- money arriving **after** success (received grows): ``extra:<order>:<total>``, the difference
  treated by the excess policy.
- **late payment** (status ``expired`` and money received): ``late:<order>:<total>``, policy
  ``"credit"`` (default) deposits it to the player's token balance; ``"revenue"`` deposits it and
  takes it as revenue. Nothing is granted.
- **insufficient** (``insufficient_not_refunded`` / ``insufficient_refunded``): nothing is posted
  and nothing granted; KryptoGO refunds the payer on chain (the order tracks ``refund_amount`` /
  ``refund_tx_hash``).

The amount paid is ``paid_total``: ``aggregated_amount`` (the total including combined payments)
decides whether a success covers the quote when present; the money counted is the larger of
``aggregated_amount`` and ``received_amount`` (payments landing after the sweep grow only the
latter); a success reporting neither counts as the quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gamepay.core.accounts import world_account
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.kryptogo.models import PaymentIntent, PaymentStatus

__all__ = [
    "GrantSpec",
    "MoneyPolicy",
    "Posting",
    "Settlement",
    "covers_quote",
    "paid_total",
    "settle",
]


class MoneyPolicy(StrEnum):
    """Where money beyond the quote (excess) or after the deadline (late) goes."""

    CREDIT = "credit"
    """Credit it to the player's token balance (a deposit they can spend or withdraw)."""
    REVENUE = "revenue"
    """Keep it as revenue."""


@dataclass(frozen=True, slots=True)
class GrantSpec:
    """What a purchase grants: ``amount`` base units of ``asset_id`` from ``issuer``."""

    asset_id: str
    amount: int
    issuer: str


@dataclass(frozen=True, slots=True)
class Posting:
    """One ledger batch to post, with its deterministic id."""

    batch_id: str
    transfers: tuple[TransferSpec, ...]


@dataclass(frozen=True, slots=True)
class Settlement:
    """The batches an update needs, and the order's accounting after them."""

    postings: tuple[Posting, ...]
    settled_amount: int
    """Token base units deposited from the world for this order, in all."""
    granted: bool
    """Whether the order's success has been settled (asset granted / top-up credited)."""
    granted_now: GrantSpec | None
    """The grant this update makes, if any."""
    credited: int
    """The net change this update makes to the player's token balance (base units)."""


def paid_total(intent: PaymentIntent) -> int:
    """The money an intent has received in all (see the module docstring); 0 when none."""
    amounts = [a for a in (intent.aggregated_amount, intent.received_amount) if a is not None]
    if amounts:
        return max(amounts)
    return intent.crypto_amount if intent.status is PaymentStatus.SUCCESS else 0


def covers_quote(intent: PaymentIntent, quote: int) -> bool:
    """Whether a success pays at least ``quote``: by ``aggregated_amount`` when present."""
    if intent.aggregated_amount is not None:
        return intent.aggregated_amount >= quote
    if intent.received_amount is not None:
        return intent.received_amount >= quote
    return True  # a success that reports no amount is taken at its quote


def settle(
    *,
    order_id: str,
    player: str,
    purchase: bool,
    status: PaymentStatus,
    chain_id: str,
    token_asset_id: str,
    quote: int,
    total: int,
    settled: int,
    granted: bool,
    grant: GrantSpec | None,
    revenue: str,
    excess_policy: MoneyPolicy,
    late_policy: MoneyPolicy,
) -> Settlement:
    """The postings that bring an order (``settled``, ``granted``) in line with the intent.

    ``player`` and ``revenue`` are account ids; ``purchase`` is False for a top-up (everything
    paid is the player's). Returns no postings when nothing is due.
    """
    world = world_account(chain_id)

    def deposit(amount: int, memo: str) -> TransferSpec:
        return TransferSpec(world, player, token_asset_id, amount, TransferKind.DEPOSIT, memo)

    def take(amount: int, memo: str) -> TransferSpec:
        return TransferSpec(player, revenue, token_asset_id, amount, TransferKind.PURCHASE, memo)

    postings: list[Posting] = []
    credited = 0
    granted_now: GrantSpec | None = None
    new_settled = settled
    new_granted = granted
    if status is PaymentStatus.SUCCESS and not granted:
        amount = max(total, quote) - settled
        transfers: list[TransferSpec] = []
        if amount > 0:
            transfers.append(deposit(amount, f"order {order_id} paid"))
        if purchase:
            price = quote if excess_policy is MoneyPolicy.CREDIT else max(total, quote)
            transfers.append(take(price, f"order {order_id} price"))
            if grant is not None:
                transfers.append(
                    TransferSpec(
                        grant.issuer,
                        player,
                        grant.asset_id,
                        grant.amount,
                        TransferKind.GRANT,
                        f"order {order_id} grant",
                    )
                )
                granted_now = grant
            credited = amount - price
        else:
            credited = amount
        if transfers:
            postings.append(Posting(f"pay:{order_id}", tuple(transfers)))
        new_settled = max(total, quote, settled)
        new_granted = True
    elif status is PaymentStatus.SUCCESS and total > settled:
        delta = total - settled
        transfers = [deposit(delta, f"order {order_id} paid more")]
        if purchase and excess_policy is MoneyPolicy.REVENUE:
            transfers.append(take(delta, f"order {order_id} excess"))
        else:
            credited = delta
        postings.append(Posting(f"extra:{order_id}:{total}", tuple(transfers)))
        new_settled = total
    elif status is PaymentStatus.EXPIRED and total > settled:
        delta = total - settled
        transfers = [deposit(delta, f"order {order_id} paid late")]
        if late_policy is MoneyPolicy.REVENUE:
            transfers.append(take(delta, f"order {order_id} late payment"))
        else:
            credited = delta
        postings.append(Posting(f"late:{order_id}:{total}", tuple(transfers)))
        new_settled = total
    return Settlement(tuple(postings), new_settled, new_granted, granted_now, credited)
