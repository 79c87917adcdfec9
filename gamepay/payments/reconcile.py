"""Reconciliation: compare the API's intents of a time window with our orders, repair, report.

``reconcile(ctx, since, until)`` lists every intent of the configured group key created in
``[since, until)`` (unix seconds or aware datetimes), compares each with its order and reports
every mismatch (``Mismatch.kind``):

- ``missing_locally``: the API has an intent no local order claims (recorded as unknown);
- ``status_differs``: the order's status is not the intent's (a missed callback);
- ``amount_differs``: received / aggregated / refund amounts differ, or the quote does;
- ``missing_at_api``: a local order of the window links an intent the API does not have;
- ``unresolved``: a ``creating`` order of the window whose intent is nowhere to be found;
- ``refused``: ``apply`` refused the API's version (recorded in ``gp_refused_transitions``).

Then it repairs through ``gamepay.payments.apply`` (the only way an order moves) and says, per
mismatch, whether the order now agrees with the API (``repaired``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from gamepay.core.intents import OrderStatus
from gamepay.errors import InvalidInput, NotFoundError
from gamepay.kryptogo.models import PaymentIntent
from gamepay.payments import repository as q
from gamepay.payments.apply import apply, find_order
from gamepay.payments.context import PaymentsContext
from gamepay.payments.create import get_order, lookup_intent
from gamepay.payments.records import Order

__all__ = ["Mismatch", "ReconcileReport", "compare", "reconcile"]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One disagreement between the API and our orders."""

    kind: str
    payment_intent_id: str | None
    order_id: str | None
    local: str | None
    remote: str | None
    repaired: bool
    detail: str | None = None


@dataclass
class ReconcileReport:
    """What a reconciliation run found and repaired."""

    since: int
    until: int
    listed: int = 0
    """Intents the API listed for the window."""
    checked: int = 0
    """Listed intents that matched a local order."""
    repaired: int = 0
    """Orders that moved or settled because of this run."""
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every mismatch found was repaired."""
        return all(m.repaired for m in self.mismatches)

    def count(self, kind: str) -> int:
        """How many mismatches of ``kind`` were found."""
        return sum(1 for m in self.mismatches if m.kind == kind)


def _unix(value: datetime | int, name: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(f"{name} must be timezone-aware")
        return int(value.timestamp())
    if type(value) is not int or value < 0:
        raise InvalidInput(f"{name} must be unix seconds or an aware datetime")
    return value


def compare(order: Order, intent: PaymentIntent) -> list[tuple[str, str, str, str]]:
    """The differences between an order and the API's intent: (kind, local, remote, detail)."""
    found: list[tuple[str, str, str, str]] = []
    if str(order.status) != str(intent.status) or order.payment_intent_id is None:
        found.append(("status_differs", str(order.status), str(intent.status), "status"))
    pairs = (
        ("crypto_amount", order.crypto_amount, intent.crypto_amount),
        ("received_amount", order.received_amount, intent.received_amount),
        ("aggregated_amount", order.aggregated_amount, intent.aggregated_amount),
        ("refund_amount", order.refund_amount, intent.refund_amount),
    )
    for name, local, remote in pairs:
        if order.payment_intent_id is not None and local != remote:
            found.append(("amount_differs", str(local), str(remote), name))
    return found


async def reconcile(
    ctx: PaymentsContext, since: datetime | int, until: datetime | int
) -> ReconcileReport:
    """Reconcile the window ``[since, until)``; see the module docstring."""
    start = _unix(since, "since")
    end = _unix(until, "until")
    if end <= start:
        raise InvalidInput("until must be after since")
    report = ReconcileReport(since=start, until=end)
    seen: set[str] = set()
    async for intent in ctx.client.list_intents(
        group_key=ctx.config.group_key, created_after=start, created_before=end
    ):
        report.listed += 1
        seen.add(intent.payment_intent_id)
        await _check(ctx, intent, report)
    window = (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    group_key = ctx.config.group_key
    orders = await ctx.store.read(lambda conn: q.orders_created_between(conn, *window, group_key))
    for order in orders:
        if order.payment_intent_id is not None and order.payment_intent_id in seen:
            continue
        if order.payment_intent_id is None:
            if order.status is not OrderStatus.CREATING:
                continue  # failed orders never had an intent
            found = await lookup_intent(ctx, order)
            if found is None:
                report.mismatches.append(
                    Mismatch("unresolved", None, order.id, str(order.status), None, False)
                )
                continue
            await _check(ctx, found, report)
            continue
        # Linked, but not listed in the window: the clocks may disagree; ask for it directly.
        try:
            intent = await ctx.client.get_intent(order.payment_intent_id)
        except NotFoundError:
            report.mismatches.append(
                Mismatch(
                    "missing_at_api",
                    order.payment_intent_id,
                    order.id,
                    str(order.status),
                    None,
                    False,
                )
            )
            continue
        await _check(ctx, intent, report)
    return report


async def _check(ctx: PaymentsContext, intent: PaymentIntent, report: ReconcileReport) -> None:
    order = await ctx.store.read(lambda conn: find_order(conn, intent))
    if order is None:
        await apply(ctx, intent, "reconcile")  # records it as unknown
        report.mismatches.append(
            Mismatch(
                "missing_locally",
                intent.payment_intent_id,
                intent.order_id,
                None,
                str(intent.status),
                False,
            )
        )
        return
    report.checked += 1
    differences = compare(order, intent)
    result = await apply(ctx, intent, "reconcile")
    if result.outcome in ("applied", "settled"):
        report.repaired += 1
    if result.outcome == "refused":
        report.mismatches.append(
            Mismatch(
                "refused",
                intent.payment_intent_id,
                order.id,
                str(order.status),
                str(intent.status),
                False,
                result.reason,
            )
        )
    after = await get_order(ctx, order.id)
    remaining = {(kind, detail) for kind, _, _, detail in compare(after, intent)}
    for kind, local, remote, detail in differences:
        report.mismatches.append(
            Mismatch(
                kind,
                intent.payment_intent_id,
                order.id,
                local,
                remote,
                (kind, detail) not in remaining,
                detail,
            )
        )
