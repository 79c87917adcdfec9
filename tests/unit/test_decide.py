"""``decide``'s rules one by one: linking, refusals with their reasons, duplicates, moves."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gamepay.core.intents import OrderKind, OrderStatus, PaymentStatus
from gamepay.payments.decide import LINK_NOTE, Policy, StatusMove, decide, is_duplicate
from gamepay.payments.records import ApplyOutcome, Order
from tests.property.test_decide_props import GRANT, QUOTE, T0, intent, new_order

S = PaymentStatus
POLICY = Policy()


def linked_order(status: OrderStatus = OrderStatus.PENDING) -> Order:
    """``ord_1`` linked to ``pi_1`` at ``status``."""
    order = new_order(OrderKind.PURCHASE)
    link = decide(order, intent(S.PENDING, None, None, None), POLICY, GRANT, T0).link
    assert link is not None
    return replace(order, **{**link, "status": status})


def test_first_intent_links_and_logs_the_link() -> None:
    """A creating order takes its intent, becomes pending, and the link is logged first."""
    observed = intent(S.PENDING, None, None, None)
    d = decide(new_order(OrderKind.PURCHASE), observed, POLICY, GRANT, T0)
    assert d.outcome is ApplyOutcome.APPLIED
    assert d.link is not None
    assert d.link["payment_intent_id"] == "pi_1"
    assert d.link["next_poll_at"] == T0 + timedelta(seconds=POLICY.poll_base)
    assert d.order.status is OrderStatus.PENDING
    assert d.before == "creating"
    assert d.status_after == "pending"
    assert d.status_changed
    assert d.moves == ()
    assert LINK_NOTE == "linked to its intent"


@pytest.mark.parametrize(
    ("order_status", "observed", "reason"),
    [
        (OrderStatus.SUCCESS, S.PENDING, "stale"),
        (OrderStatus.EXPIRED, S.SUCCESS, "illegal"),
        (OrderStatus.INSUFFICIENT_REFUNDED, S.INSUFFICIENT_NOT_REFUNDED, "stale"),
    ],
)
def test_stale_and_illegal_moves_are_refused(
    order_status: OrderStatus, observed: S, reason: str
) -> None:
    """A move the table does not allow is refused: stale when the order is past it."""
    d = decide(linked_order(order_status), intent(observed, None, None, None), POLICY, GRANT, T0)
    assert d.outcome is ApplyOutcome.REFUSED
    assert d.reason == reason
    assert d.link is None


def test_intents_that_do_not_match_are_refused() -> None:
    """Another intent, another quote, or an order_data naming another order: refused."""
    order = linked_order()
    other = intent(S.PENDING, None, None, None).model_copy(update={"payment_intent_id": "pi_2"})
    assert decide(order, other, POLICY, GRANT, T0).reason == "other_intent"
    cheaper = intent(S.PENDING, None, None, None).model_copy(update={"crypto_amount": 1})
    d = decide(order, cheaper, POLICY, GRANT, T0)
    assert (d.reason, d.detail) == ("intent_mismatch", "crypto_amount")
    stranger = intent(S.PENDING, None, None, None).model_copy(update={"order_data": {}})
    d = decide(new_order(OrderKind.PURCHASE), stranger, POLICY, GRANT, T0)
    assert (d.reason, d.detail) == ("cannot_link", "order_data does not name this order")


def test_short_success_is_refused_after_the_link() -> None:
    """A success below the quote on a creating order: the link is kept, the move refused."""
    short = intent(S.SUCCESS, QUOTE - 1, QUOTE - 1, None)
    d = decide(new_order(OrderKind.PURCHASE), short, POLICY, GRANT, T0)
    assert d.outcome is ApplyOutcome.REFUSED
    assert d.reason == "amount_short"
    assert d.link is not None
    assert d.order.status is OrderStatus.PENDING


def test_skipped_status_is_applied_as_every_step() -> None:
    """pending -> insufficient_refunded logs both legal steps."""
    observed = intent(S.INSUFFICIENT_REFUNDED, 10, None, 10)
    d = decide(linked_order(), observed, POLICY, GRANT, T0)
    assert d.moves == (
        StatusMove("pending", "insufficient_not_refunded"),
        StatusMove("insufficient_not_refunded", "insufficient_refunded"),
    )
    assert d.updates["next_poll_at"] is None
    assert d.updates["refund_amount"] == 10


def test_success_grants_once_then_is_a_duplicate() -> None:
    """Success posts pay:<order> and grants; the same intent again is a duplicate."""
    paid = intent(S.SUCCESS, QUOTE, QUOTE, None)
    d = decide(linked_order(), paid, POLICY, GRANT, T0)
    assert d.outcome is ApplyOutcome.APPLIED
    assert d.granted_now
    assert d.settlement is not None
    assert [p.batch_id for p in d.settlement.postings] == ["pay:ord_1"]
    after = replace(d.order, **{**d.updates, "status": OrderStatus.SUCCESS})
    assert is_duplicate(after, paid, POLICY, GRANT, T0)
    more = intent(S.SUCCESS, QUOTE + 5, QUOTE, None)
    d = decide(after, more, POLICY, GRANT, T0)
    assert d.outcome is ApplyOutcome.SETTLED
    assert not d.granted_now
    assert d.moves == (StatusMove("success", "success", f"settled extra:ord_1:{QUOTE + 5}"),)
