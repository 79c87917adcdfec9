"""Settlement rules: what each intent update posts, and that replays post nothing more."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.transfers import TransferKind
from gamepay.kryptogo.models import PaymentIntent, PaymentStatus
from gamepay.payments.decide import (
    GrantSpec,
    MoneyPolicy,
    Settlement,
    covers_quote,
    paid_total,
    settle,
)
from gamepay.testing import intent_payload

TOKEN = "token:arb:0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9"
GRANT = GrantSpec("item:sword", 1, "issuer:item:sword")
QUOTE = 9_230_000


def _settle(
    status: PaymentStatus,
    total: int,
    *,
    settled: int = 0,
    granted: bool = False,
    purchase: bool = True,
    excess: MoneyPolicy = MoneyPolicy.CREDIT,
    late: MoneyPolicy = MoneyPolicy.CREDIT,
    grants: tuple[GrantSpec, ...] = (GRANT,),
) -> Settlement:
    return settle(
        order_id="ord_1",
        player="player:alice",
        purchase=purchase,
        status=status,
        chain_id="arb",
        token_asset_id=TOKEN,
        quote=QUOTE,
        total=total,
        settled=settled,
        granted=granted,
        grants=grants if purchase else (),
        revenue="revenue",
        excess_policy=excess,
        late_policy=late,
    )


def _net(s: Settlement) -> dict[tuple[str, str], int]:
    net: dict[tuple[str, str], int] = defaultdict(int)
    for posting in s.postings:
        for t in posting.transfers:
            net[(t.debit, t.asset)] -= t.amount
            net[(t.credit, t.asset)] += t.amount
    return net


def test_exact_purchase_is_deposit_purchase_grant_in_one_batch() -> None:
    """An exact payment: one batch pay:<order> of deposit + purchase + grant."""
    s = _settle(PaymentStatus.SUCCESS, QUOTE)
    assert [p.batch_id for p in s.postings] == ["pay:ord_1"]
    kinds = [t.kind for t in s.postings[0].transfers]
    assert kinds == [TransferKind.DEPOSIT, TransferKind.PURCHASE, TransferKind.GRANT]
    net = _net(s)
    assert net[("player:alice", TOKEN)] == 0
    assert net[("revenue", TOKEN)] == QUOTE
    assert net[("player:alice", "item:sword")] == 1
    assert s.granted
    assert s.granted_now == (GRANT,)
    assert s.credited == 0


def test_bundle_grants_every_part_in_the_one_pay_batch() -> None:
    """A bundle's payment posts deposit + purchase + one grant per part, all in pay:<order>."""
    gems = GrantSpec("currency:gems", 100, "issuer:currency:gems")
    potion = GrantSpec("item:potion", 3, "issuer:item:potion")
    s = _settle(PaymentStatus.SUCCESS, QUOTE, grants=(gems, GRANT, potion))
    assert [p.batch_id for p in s.postings] == ["pay:ord_1"]
    kinds = [t.kind for t in s.postings[0].transfers]
    assert kinds == [TransferKind.DEPOSIT, TransferKind.PURCHASE] + [TransferKind.GRANT] * 3
    net = _net(s)
    assert net[("player:alice", "currency:gems")] == 100
    assert net[("player:alice", "item:sword")] == 1
    assert net[("player:alice", "item:potion")] == 3
    assert s.granted_now == (gems, GRANT, potion)
    again = _settle(PaymentStatus.SUCCESS, QUOTE, settled=QUOTE, granted=True, grants=(gems,))
    assert again.postings == ()


def test_excess_credit_and_revenue_policies() -> None:
    """Overpayment goes to the player's token balance, or to revenue, by policy."""
    credit = _net(_settle(PaymentStatus.SUCCESS, QUOTE + 5))
    assert credit[("player:alice", TOKEN)] == 5
    assert credit[("revenue", TOKEN)] == QUOTE
    keep = _net(_settle(PaymentStatus.SUCCESS, QUOTE + 5, excess=MoneyPolicy.REVENUE))
    assert keep[("player:alice", TOKEN)] == 0
    assert keep[("revenue", TOKEN)] == QUOTE + 5


def test_late_payment_policies() -> None:
    """Money on an expired intent is credited to the player (default) or kept; no grant."""
    s = _settle(PaymentStatus.EXPIRED, 7)
    assert [p.batch_id for p in s.postings] == ["late:ord_1:7"]
    assert _net(s)[("player:alice", TOKEN)] == 7
    assert s.granted_now == ()
    assert not s.granted
    kept = _settle(PaymentStatus.EXPIRED, 7, late=MoneyPolicy.REVENUE)
    assert _net(kept)[("revenue", TOKEN)] == 7
    assert _net(kept)[("player:alice", TOKEN)] == 0


@pytest.mark.parametrize(
    "status",
    [
        PaymentStatus.PENDING,
        PaymentStatus.INSUFFICIENT_NOT_REFUNDED,
        PaymentStatus.INSUFFICIENT_REFUNDED,
    ],
)
def test_nothing_posted_while_pending_or_insufficient(status: PaymentStatus) -> None:
    """Pending and insufficient intents post nothing and grant nothing."""
    s = _settle(status, QUOTE // 2)
    assert s.postings == ()
    assert not s.granted
    assert s.settled_amount == 0


def test_top_up_credits_everything_paid() -> None:
    """A top-up deposits the whole amount paid to the player."""
    s = _settle(PaymentStatus.SUCCESS, QUOTE + 3, purchase=False)
    assert _net(s)[("player:alice", TOKEN)] == QUOTE + 3
    assert s.credited == QUOTE + 3


def test_paid_total_and_quote_check() -> None:
    """aggregated_amount decides the grant when present; the larger amount is counted."""
    base = intent_payload(status="success")
    bare = PaymentIntent.model_validate(base)
    assert paid_total(bare) == QUOTE
    assert covers_quote(bare, QUOTE)
    both = PaymentIntent.model_validate(
        {**base, "received_amount": "9.5", "aggregated_amount": "9.23"}
    )
    assert paid_total(both) == 9_500_000
    assert covers_quote(both, QUOTE)
    short = PaymentIntent.model_validate(
        {**base, "received_amount": "10", "aggregated_amount": "9.0"}
    )
    assert not covers_quote(short, QUOTE)
    pending = PaymentIntent.model_validate({**base, "status": "pending"})
    assert paid_total(pending) == 0


observations = st.lists(
    st.tuples(
        st.sampled_from(list(PaymentStatus)),
        st.integers(min_value=0, max_value=3 * QUOTE),
    ),
    min_size=1,
    max_size=8,
)


@given(observations, st.booleans(), st.sampled_from(list(MoneyPolicy)))
def test_replaying_observations_grants_at_most_once(
    seen: list[tuple[PaymentStatus, int]], purchase: bool, excess: MoneyPolicy
) -> None:
    """Feeding any sequence of observations: one grant at most, batch ids never reused,
    money from the world equals the largest total settled, and re-settling posts nothing."""
    settled, granted = 0, False
    ids: set[str] = set()
    grants = 0
    world = 0
    for status, total in seen:
        s = _settle(
            status, total, settled=settled, granted=granted, purchase=purchase, excess=excess
        )
        for posting in s.postings:
            assert posting.batch_id not in ids
            ids.add(posting.batch_id)
            for t in posting.transfers:
                if t.kind is TransferKind.GRANT:
                    grants += 1
                if t.debit == "world:arb":
                    world += t.amount
        settled, granted = s.settled_amount, s.granted
        again = _settle(
            status, total, settled=settled, granted=granted, purchase=purchase, excess=excess
        )
        assert again.postings == ()
    assert grants <= (1 if purchase else 0)
    assert world == settled
