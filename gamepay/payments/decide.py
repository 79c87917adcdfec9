"""What an observed intent means for its order, PURE (no I/O, no clock: ``now`` is passed in).

``decide(order, intent, policy, grants, now)`` returns a ``Decision``: refuse (with a reason),
duplicate (nothing to do), or apply (the status steps, the ledger postings, the order's new
fields, the log lines, what to tell the player). ``gamepay.payments.apply`` reads the order,
calls ``decide`` and executes the decision in one transaction; nothing else moves an order.

Rules, in order:

1. **Linking.** An order without an intent (``creating`` or ``failed``) takes the intent whose
   ``order_data`` names it, when the fiat amount and currency match and its token is usable; it
   then becomes ``pending`` (reason ``cannot_link`` otherwise). An order linked to another
   intent refuses (``other_intent``); a linked order refuses an intent whose quote (chain, token,
   decimals, crypto amount, address) differs from the one it recorded (``intent_mismatch``).
2. **Status.** The move is judged with THE transition table, ``gamepay.core.intents``
   (``judge``/``steps``): the same status is no move, a reachable one is applied as its chain of
   legal steps, anything else is refused as ``stale`` (the order is already past it) or
   ``illegal``. A success that does not cover the quote is refused (``amount_short``).
3. **Money** (``settle``, posting conventions in ``docs/architecture.md``); every batch id is
   derived from the order (and, for later money, the running total), so a replay posts nothing
   twice:

   - **success**, first time: ``pay:<order>``. A purchase is deposit(world:<chain> -> player, the
     total paid) + purchase(player -> revenue, the quoted price) + one grant(issuer -> player)
     per part it grants (a bundle's parts all in this one batch). A top-up is
     deposit(world -> player, the total paid).
   - **excess** (paid above the quote): policy ``"credit"`` (default) leaves the difference on
     the player's token balance; ``"revenue"`` makes the purchase take all of it.
   - money arriving **after** success (received grows): ``extra:<order>:<total>``, the
     difference treated by the excess policy.
   - **late payment** (status ``expired`` and money received): ``late:<order>:<total>``, policy
     ``"credit"`` (default) deposits it to the player's token balance; ``"revenue"`` deposits it
     and takes it as revenue. Nothing is granted.
   - **insufficient**: nothing is posted and nothing granted; KryptoGO refunds the payer on chain
     (the order tracks ``refund_amount`` / ``refund_tx_hash``).

   The amount paid is ``paid_total``: ``aggregated_amount`` (the total including combined
   payments) decides whether a success covers the quote when present; the money counted is the
   larger of ``aggregated_amount`` and ``received_amount`` (payments landing after the sweep grow
   only the latter); a success reporting neither counts as the quote.
4. **Duplicate.** Nothing linked, no step, no posting and no tracked field (received,
   aggregated, refund amount and hash, payment hash) changed: a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from gamepay.core.accounts import REVENUE, player_account, world_account
from gamepay.core.assets import Token
from gamepay.core.intents import OrderKind, OrderStatus, PaymentStatus, Verdict, judge, steps
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import AssetError
from gamepay.kryptogo.models import PaymentIntent
from gamepay.payments.records import ApplyOutcome, Order

__all__ = [
    "LINK_NOTE",
    "OVER_LIMIT_NOTE",
    "Decision",
    "GrantSpec",
    "MoneyPolicy",
    "Policy",
    "Posting",
    "Settlement",
    "StatusMove",
    "attach_problem",
    "covers_quote",
    "decide",
    "grant_transfers",
    "is_duplicate",
    "next_poll",
    "paid_total",
    "quote_problem",
    "same_decimal",
    "settle",
    "tracked",
]

LINK_NOTE = "linked to its intent"
"""The note logged when an order is linked to its intent."""
OVER_LIMIT_NOTE = "max_per_player reached: the payment is credited as balance, nothing granted"
"""The note logged when a paid purchase finds no free ``max_per_player`` slot."""


class MoneyPolicy(StrEnum):
    """Where money beyond the quote (excess) or after the deadline (late) goes."""

    CREDIT = "credit"
    """Credit it to the player's token balance (a deposit they can spend or withdraw)."""
    REVENUE = "revenue"
    """Keep it as revenue."""


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings a decision depends on (taken from ``PaymentsConfig``)."""

    revenue: str = REVENUE
    excess: MoneyPolicy = MoneyPolicy.CREDIT
    late: MoneyPolicy = MoneyPolicy.CREDIT
    poll_base: float = 5.0
    poll_cap: float = 300.0


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
    granted_now: tuple[GrantSpec, ...]
    """The grants this update makes (every part of a bundle), if any."""
    credited: int
    """The net change this update makes to the player's token balance (base units)."""


@dataclass(frozen=True, slots=True)
class StatusMove:
    """One line of the order's status log (``from == to`` for a settlement of new money)."""

    from_status: str
    to_status: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with an observed intent; ``apply`` executes it as one transaction.

    ``link`` (fields that tie the order to its intent, logged with ``LINK_NOTE``) is written
    first, even when the decision then refuses. ``order`` is the order as decided on (after the
    link). On ``APPLIED``/``SETTLED``: post ``settlement.postings``, set ``updates``, log
    ``moves``, and tell the player the new status when ``status_changed``.
    """

    outcome: ApplyOutcome
    order: Order
    before: str
    """The order's status before this decision (before linking)."""
    link: Mapping[str, Any] | None = None
    reason: str | None = None
    detail: str | None = None
    settlement: Settlement | None = None
    updates: Mapping[str, Any] = field(default_factory=dict)
    moves: tuple[StatusMove, ...] = ()
    status_changed: bool = False

    @property
    def status_after(self) -> str:
        """The order's status once the decision is executed."""
        return str(self.updates.get("status", self.order.status))

    @property
    def granted_now(self) -> bool:
        """True when this decision grants the asset (or credits the top-up)."""
        return self.settlement is not None and self.settlement.granted and not self.order.granted


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
    grants: tuple[GrantSpec, ...],
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
    granted_now: tuple[GrantSpec, ...] = ()
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
            transfers.extend(grant_transfers(order_id, player, grants))
            granted_now = grants
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


def same_decimal(a: str | None, b: str | None) -> bool:
    """Whether two decimal strings (``"300"``, ``"300.0"``) name the same number."""
    return _decimal(a) == _decimal(b)


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def tracked(source: Order | PaymentIntent) -> dict[str, Any]:
    """The amounts and hashes an order copies from its intent (compared to spot news)."""
    return {
        "received_amount": source.received_amount,
        "aggregated_amount": source.aggregated_amount,
        "refund_amount": source.refund_amount,
        "refund_tx_hash": source.refund_tx_hash,
        "payment_tx_hash": source.payment_tx_hash,
    }


def quote_problem(order: Order, intent: PaymentIntent) -> str | None:
    """Why ``intent`` does not match the quote the order recorded, or None."""
    problems = []
    if order.chain_id != intent.payment_chain_id:
        problems.append("chain")
    if (order.token_address or "").lower() != intent.token_address.lower():
        problems.append("token")
    if order.decimals != intent.decimals:
        problems.append("decimals")
    if order.crypto_amount != intent.crypto_amount:
        problems.append("crypto_amount")
    if order.payment_address != intent.payment_address:
        problems.append("address")
    return ", ".join(problems) or None


def attach_problem(order: Order, intent: PaymentIntent) -> str | None:
    """Why ``intent`` cannot be the intent of the unlinked ``order``, or None."""
    if order.status not in (OrderStatus.CREATING, OrderStatus.FAILED):
        return f"order is {order.status}"
    if intent.order_id != order.id:
        return "order_data does not name this order"
    if order.fiat_currency != str(intent.fiat_currency):
        return "fiat currency differs"
    if not same_decimal(order.fiat_amount, intent.fiat_amount):
        return "fiat amount differs"
    try:
        Token(intent.payment_chain_id, intent.token_address, intent.symbol, intent.decimals)
    except AssetError as exc:
        return f"unusable token: {exc.message}"
    return None


def next_poll(
    order: Order, status: PaymentStatus, now: datetime, policy: Policy
) -> datetime | None:
    """When the poller should next look at an order now at ``status`` (None: never)."""
    if status is PaymentStatus.PENDING:
        return order.next_poll_at or now + timedelta(seconds=policy.poll_base)
    if status is PaymentStatus.INSUFFICIENT_NOT_REFUNDED:
        return now + timedelta(seconds=policy.poll_cap)
    return None


def _settlement(
    order: Order,
    intent: PaymentIntent,
    policy: Policy,
    grants: tuple[GrantSpec, ...],
    credit_only: bool,
) -> Settlement:
    purchase = order.kind is OrderKind.PURCHASE and not credit_only
    return settle(
        order_id=order.id,
        player=player_account(order.player_id),
        purchase=purchase,
        status=intent.status,
        chain_id=intent.payment_chain_id,
        token_asset_id=Token(
            intent.payment_chain_id, intent.token_address, intent.symbol, intent.decimals
        ).id,
        quote=intent.crypto_amount,
        total=paid_total(intent),
        settled=order.settled_amount,
        granted=order.granted,
        grants=grants if purchase and order.sku is not None else (),
        revenue=policy.revenue,
        excess_policy=policy.excess,
        late_policy=policy.late,
    )


def _link(order: Order, intent: PaymentIntent, now: datetime, policy: Policy) -> dict[str, Any]:
    return {
        "payment_intent_id": intent.payment_intent_id,
        "chain_id": intent.payment_chain_id,
        "token_address": intent.token_address,
        "symbol": intent.symbol,
        "decimals": intent.decimals,
        "crypto_amount": intent.crypto_amount,
        "payment_address": intent.payment_address,
        "payment_deadline": intent.payment_deadline,
        "status": OrderStatus.PENDING,
        "poll_attempts": 0,
        "next_poll_at": now + timedelta(seconds=policy.poll_base),
        "updated_at": now,
    }


def decide(
    order: Order,
    intent: PaymentIntent,
    policy: Policy,
    grants: tuple[GrantSpec, ...],
    now: datetime,
    *,
    credit_only: bool = False,
) -> Decision:
    """Decide what ``intent`` (fetched from the API) does to ``order``; see the module docstring.

    ``grants`` is what the order grants (ignored unless it is a purchase). ``credit_only``
    settles a purchase like a top-up (everything paid credited, nothing granted): a paid order
    over its item's ``max_per_player`` (``gamepay.payments.limits``).
    """
    before = str(order.status)

    def refuse(reason: str, detail: str | None = None) -> Decision:
        return Decision(ApplyOutcome.REFUSED, order, before, link, reason, detail)

    link: dict[str, Any] | None = None
    if order.payment_intent_id is None:
        problem = attach_problem(order, intent)
        if problem is not None:
            return refuse("cannot_link", problem)
        link = _link(order, intent, now, policy)
        order = replace(order, **link)
        link["status"] = str(OrderStatus.PENDING)
    elif order.payment_intent_id != intent.payment_intent_id:
        return refuse("other_intent", f"order is linked to {order.payment_intent_id}")
    else:
        problem = quote_problem(order, intent)
        if problem is not None:
            return refuse("intent_mismatch", problem)
    current = PaymentStatus(str(order.status))
    if judge(current, intent.status) is Verdict.REFUSE:
        return refuse("stale" if steps(intent.status, current) is not None else "illegal")
    path = steps(current, intent.status) or ()
    if PaymentStatus.SUCCESS in path and not covers_quote(intent, intent.crypto_amount):
        short = f"success reports {paid_total(intent)} < quote {intent.crypto_amount}"
        return refuse("amount_short", short)
    settlement = _settlement(order, intent, policy, grants, credit_only)
    news = tracked(intent)
    moved = bool(path) or link is not None
    if not moved and not settlement.postings and news == tracked(order):
        return Decision(ApplyOutcome.DUPLICATE, order, before)
    updates: dict[str, Any] = dict(news)
    updates.update(
        status=str(intent.status),
        settled_amount=settlement.settled_amount,
        granted=settlement.granted,
        next_poll_at=next_poll(order, intent.status, now, policy),
        updated_at=now,
    )
    moves: list[StatusMove] = []
    previous = current
    for status in path:
        moves.append(StatusMove(str(previous), str(status)))
        previous = status
    if settlement.postings and not path:
        note = "settled " + ", ".join(p.batch_id for p in settlement.postings)
        moves.append(StatusMove(str(intent.status), str(intent.status), note))
    if credit_only and settlement.granted and not order.granted:
        moves.append(StatusMove(str(intent.status), str(intent.status), OVER_LIMIT_NOTE))
    return Decision(
        ApplyOutcome.APPLIED if moved else ApplyOutcome.SETTLED,
        order,
        before,
        link,
        settlement=settlement,
        updates=updates,
        moves=tuple(moves),
        status_changed=moved,
    )


def is_duplicate(
    order: Order,
    intent: PaymentIntent,
    policy: Policy,
    grants: tuple[GrantSpec, ...],
    now: datetime,
) -> bool:
    """True when applying ``intent`` would change nothing at all (a read-only fast path)."""
    if order.payment_intent_id != intent.payment_intent_id:
        return False
    return decide(order, intent, policy, grants, now).outcome is ApplyOutcome.DUPLICATE


def grant_transfers(
    order_id: str, player: str, grants: tuple[GrantSpec, ...]
) -> list[TransferSpec]:
    """One ``grant`` transfer (issuer -> ``player``) per part an order grants."""
    return [
        TransferSpec(
            grant.issuer,
            player,
            grant.asset_id,
            grant.amount,
            TransferKind.GRANT,
            f"order {order_id} grant" if len(grants) == 1 else f"order {order_id} grant {n + 1}",
        )
        for n, grant in enumerate(grants)
    ]
