"""Reconciliation: compare the API's intents of a time window with our orders, repair, report.

``reconcile(ctx, since, until)`` lists every intent of the configured group key created in
``[since, until)`` (unix seconds or aware datetimes), compares each with its order and reports
every mismatch (``Mismatch.kind``):

- ``missing_locally``: the API has an intent no local order claims (recorded as unknown);
- ``status_differs``: the order's status is not the intent's (a missed callback);
- ``amount_differs``: received / aggregated / refund amounts differ, or the quote does;
- ``missing_at_api``: a local order of the window links an intent the API does not have;
- ``stuck_creating``: a ``creating`` order of the window whose intent is nowhere to be found:
  closed (``failed``) once it is older than ``creating_timeout`` and no create attempt can
  still be in flight (``create.creating_is_stuck``), else left to wait;
- ``refused``: ``apply`` refused the API's version (recorded in ``gp_refused_transitions``);
- ``error``: the order or intent could not be checked (the API failed, ...): run again.

Then it repairs through ``gamepay.payments.apply`` (the only way an order moves) and gives each
mismatch a ``MismatchOutcome``: ``repaired`` (the order now agrees with the API, or was closed),
``operator`` (needs a person: docs/operations.md says what to do), ``error`` (could not be
checked) or ``waiting`` (nothing to do yet). ``ReconcileReport.ok`` is False when anything needs
an operator or failed.

``close_stuck(ctx)`` is the operator's tool for ``creating`` orders of any age: each one's intent
is looked up through ``order_data`` first (a found intent is linked, never lost), and only an
order with no intent, older than the timeout and with no create attempt in flight is closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from gamepay.core.intents import OrderStatus
from gamepay.errors import GamepayError, InvalidInput, NotFoundError
from gamepay.kryptogo.models import PaymentIntent
from gamepay.payments import repository as q
from gamepay.payments.apply import apply, find_order
from gamepay.payments.context import PaymentsContext
from gamepay.payments.create import creating_is_stuck, fail_order, get_order, lookup_intent
from gamepay.payments.records import ApplyOutcome, Order

__all__ = [
    "Mismatch",
    "MismatchOutcome",
    "ReconcileReport",
    "StuckOrder",
    "StuckReport",
    "close_stuck",
    "compare",
    "reconcile",
    "reconcile_order",
]


class MismatchOutcome(StrEnum):
    """What became of a mismatch."""

    REPAIRED = "repaired"
    """The order now agrees with the API (or a stuck ``creating`` order was closed)."""
    OPERATOR = "operator"
    """Needs an operator (see docs/operations.md, "Reconciliation")."""
    ERROR = "error"
    """Could not be checked (the API failed, ...): run again."""
    WAITING = "waiting"
    """Nothing to do yet: a ``creating`` order younger than the timeout."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One disagreement between the API and our orders, and what became of it."""

    kind: str
    payment_intent_id: str | None
    order_id: str | None
    local: str | None
    remote: str | None
    outcome: MismatchOutcome
    detail: str | None = None

    @property
    def repaired(self) -> bool:
        """True when the order now agrees with the API (or was closed)."""
        return self.outcome is MismatchOutcome.REPAIRED


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
    """Orders that moved or settled because of this run (stuck orders closed included)."""
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing needs an operator and nothing failed."""
        return not any(
            m.outcome in (MismatchOutcome.OPERATOR, MismatchOutcome.ERROR) for m in self.mismatches
        )

    def count(self, kind: str) -> int:
        """How many mismatches of ``kind`` were found."""
        return sum(1 for m in self.mismatches if m.kind == kind)

    def outcomes(self) -> dict[str, int]:
        """How many mismatches ended in each ``MismatchOutcome`` (every one present, maybe 0)."""
        counts = {str(o): 0 for o in MismatchOutcome}
        for m in self.mismatches:
            counts[str(m.outcome)] += 1
        return counts


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


def _error(intent_id: str | None, order_id: str | None, exc: GamepayError) -> Mismatch:
    return Mismatch("error", intent_id, order_id, None, None, MismatchOutcome.ERROR, _why(exc))


def _why(exc: GamepayError) -> str:
    return f"{exc.code}: {exc.message}"[:300]


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
        if intent.group_key != ctx.config.group_key:
            continue  # the list's filters are inferred: a server may ignore them
        report.listed += 1
        seen.add(intent.payment_intent_id)
        try:
            await _check(ctx, intent, report)
        except GamepayError as exc:
            report.mismatches.append(_error(intent.payment_intent_id, intent.order_id, exc))
    window = (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    group_key = ctx.config.group_key
    orders = await ctx.store.read(lambda conn: q.orders_created_between(conn, *window, group_key))
    for order in orders:
        if order.payment_intent_id is not None and order.payment_intent_id in seen:
            continue
        try:
            await _check_order(ctx, order, report)
        except GamepayError as exc:
            report.mismatches.append(_error(order.payment_intent_id, order.id, exc))
    return report


async def reconcile_order(ctx: PaymentsContext, order_id: str) -> ReconcileReport:
    """Reconcile one order now, as a window run would (its intent fetched and applied; a
    ``creating`` one looked up, or closed once stuck); ``OrderNotFound`` for an unknown id."""
    order = await get_order(ctx, order_id)
    now = int(ctx.now().timestamp())
    report = ReconcileReport(since=now, until=now)
    try:
        await _check_order(ctx, order, report)
    except GamepayError as exc:
        report.mismatches.append(_error(order.payment_intent_id, order.id, exc))
    return report


async def _check_order(ctx: PaymentsContext, order: Order, report: ReconcileReport) -> None:
    """An order of the window whose intent was not listed."""
    if order.payment_intent_id is None:
        if order.status is not OrderStatus.CREATING:
            return  # failed orders never had an intent
        found = await lookup_intent(ctx, order)
        if found.intent is not None:
            await _check(ctx, found.intent, report)
            return
        stuck = await _stuck(ctx, order, "reconcile")
        report.repaired += stuck.repaired
        report.mismatches.append(stuck)
        return
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
                MismatchOutcome.OPERATOR,
            )
        )
        return
    await _check(ctx, intent, report)


async def _stuck(ctx: PaymentsContext, order: Order, source: str) -> Mismatch:
    """A ``creating`` order with no intent at the API: close it if it is stuck, else wait."""
    timeout = ctx.config.creating_timeout
    if creating_is_stuck(order, ctx.now(), ctx.config):
        why = f"no intent found through order_data after {timeout:.0f}s"
        if await fail_order(ctx, order, why, source=source, attempts=order.create_attempts):
            return Mismatch(
                "stuck_creating",
                None,
                order.id,
                "creating",
                None,
                MismatchOutcome.REPAIRED,
                f"closed as failed: {why}",
            )
    return Mismatch(
        "stuck_creating",
        None,
        order.id,
        "creating",
        None,
        MismatchOutcome.WAITING,
        f"no intent yet; closed once {timeout:.0f}s old",
    )


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
                MismatchOutcome.OPERATOR,
            )
        )
        return
    report.checked += 1
    differences = compare(order, intent)
    result = await apply(ctx, intent, "reconcile")
    if result.outcome in (ApplyOutcome.APPLIED, ApplyOutcome.SETTLED):
        report.repaired += 1
    if result.outcome is ApplyOutcome.REFUSED:
        report.mismatches.append(
            Mismatch(
                "refused",
                intent.payment_intent_id,
                order.id,
                str(order.status),
                str(intent.status),
                MismatchOutcome.OPERATOR,
                result.reason,
            )
        )
    after = await get_order(ctx, order.id)
    remaining = {(kind, detail) for kind, _, _, detail in compare(after, intent)}
    for kind, local, remote, detail in differences:
        fixed = (kind, detail) not in remaining
        report.mismatches.append(
            Mismatch(
                kind,
                intent.payment_intent_id,
                order.id,
                local,
                remote,
                MismatchOutcome.REPAIRED if fixed else MismatchOutcome.OPERATOR,
                detail,
            )
        )


# -- closing stuck creating orders ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StuckOrder:
    """One ``creating`` order ``close_stuck`` looked at, and what it did (or would do)."""

    order_id: str
    player_id: str
    created_at: datetime
    action: str
    """``linked`` (its intent was found and applied), ``closed`` (made ``failed``), ``waiting``
    (too young, or a create attempt may be in flight), ``refused`` (the found intent cannot be
    its intent: see gp_refused_transitions) or ``error`` (the API failed: run again)."""
    detail: str | None = None


@dataclass
class StuckReport:
    """What ``close_stuck`` did; with ``dry_run``, what it would do (nothing was written)."""

    dry_run: bool
    orders: list[StuckOrder] = field(default_factory=list)

    def count(self, action: str) -> int:
        """How many orders got ``action``."""
        return sum(1 for o in self.orders if o.action == action)

    @property
    def ok(self) -> bool:
        """True when no order was refused or failed to be checked."""
        return not any(o.action in ("refused", "error") for o in self.orders)


async def close_stuck(
    ctx: PaymentsContext, *, dry_run: bool = False, limit: int = 1000
) -> StuckReport:
    """Resolve every ``creating`` order (oldest first, at most ``limit``); see the module
    docstring. Exactly-once safe: an order whose intent exists is linked, never closed."""
    orders = await ctx.store.read(
        lambda conn: q.list_orders(conn, status=OrderStatus.CREATING, limit=limit)
    )
    report = StuckReport(dry_run=dry_run)
    for order in sorted(orders, key=lambda o: (o.created_at, o.id)):
        try:
            action, detail = await _resolve(ctx, order, dry_run)
        except GamepayError as exc:
            action, detail = "error", _why(exc)
        report.orders.append(
            StuckOrder(order.id, order.player_id, order.created_at, action, detail)
        )
    return report


async def _resolve(ctx: PaymentsContext, order: Order, dry_run: bool) -> tuple[str, str | None]:
    lookup = await lookup_intent(ctx, order)
    found = lookup.intent
    if found is not None:
        if dry_run:
            return "linked", found.payment_intent_id
        result = await apply(ctx, found, "close_stuck")
        if result.outcome is ApplyOutcome.REFUSED:
            return "refused", f"{found.payment_intent_id}: {result.reason}"
        return "linked", found.payment_intent_id
    if not creating_is_stuck(order, ctx.now(), ctx.config):
        return "waiting", "younger than the timeout, or a create attempt may be in flight"
    why = f"no intent found through order_data after {ctx.config.creating_timeout:.0f}s"
    if dry_run:
        return "closed", why
    if await fail_order(ctx, order, why, source="close_stuck", attempts=order.create_attempts):
        return "closed", why
    return "waiting", "the order moved meanwhile"
