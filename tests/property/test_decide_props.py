"""Property tests of the pure ``decide``: any sequence of observed intents, executed as decided."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gamepay.core.intents import OrderKind, OrderStatus, PaymentStatus, is_legal
from gamepay.core.transfers import TransferKind
from gamepay.kryptogo.models import PaymentIntent
from gamepay.payments.decide import GrantSpec, MoneyPolicy, Policy, decide
from gamepay.payments.records import ApplyOutcome, Order

S = PaymentStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUOTE = 1_000
GRANT = (GrantSpec("item:sword", 1, "issuer:item:sword"),)
BUNDLE = (
    GrantSpec("currency:gems", 100, "issuer:currency:gems"),
    GrantSpec("item:sword", 1, "issuer:item:sword"),
    GrantSpec("item:potion", 3, "issuer:item:potion"),
)
TOKEN = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"


def new_order(kind: OrderKind) -> Order:
    """A ``creating`` order as ``create`` writes it."""
    return Order(
        id="ord_1",
        player_id="alice",
        kind=kind,
        status=OrderStatus.CREATING,
        request_id=None,
        sku="sword" if kind is OrderKind.PURCHASE else None,
        fiat_amount="300.0",
        fiat_currency="TWD",
        group_key="gamepay",
        payment_intent_id=None,
        chain_id=None,
        token_address=None,
        symbol=None,
        decimals=None,
        crypto_amount=None,
        payment_address=None,
        payment_deadline=None,
        received_amount=None,
        aggregated_amount=None,
        refund_amount=None,
        refund_tx_hash=None,
        payment_tx_hash=None,
        settled_amount=0,
        granted=False,
        price_asset_id=None,
        price_amount=None,
        grant_asset_id=None,
        grant_amount=None,
        grant_parts=None,
        poll_attempts=0,
        next_poll_at=T0,
        create_attempts=1,
        created_at=T0,
        updated_at=T0,
    )


def intent(
    status: S, received: int | None, aggregated: int | None, refund: int | None
) -> PaymentIntent:
    """The intent of ``ord_1`` as the API might report it at some moment."""
    return PaymentIntent.model_validate(
        {
            "payment_intent_id": "pi_1",
            "payment_chain_id": "arb",
            "payment_address": "0x52908400098527886E0F7030069857D2E4169EE7",
            "token_address": TOKEN,
            "symbol": "USDT",
            "decimals": 6,
            "crypto_amount": QUOTE,
            "fiat_amount": "300",
            "fiat_currency": "TWD",
            "payment_deadline": 1_900_000_000,
            "status": status,
            "received_amount": received,
            "aggregated_amount": aggregated,
            "refund_amount": refund,
            "order_data": {"order_id": "ord_1"},
        }
    )


amounts = st.none() | st.integers(min_value=0, max_value=3 * QUOTE)
observations = st.builds(intent, st.sampled_from(list(S)), amounts, amounts, amounts)
policies = st.builds(
    Policy, excess=st.sampled_from(list(MoneyPolicy)), late=st.sampled_from(list(MoneyPolicy))
)


def execute(order: Order, values: Any) -> Order:
    """The order after ``apply`` writes ``values`` (as the repository would read it back)."""
    fields = dict(values)
    if "status" in fields:
        fields["status"] = OrderStatus(fields["status"])
    return replace(order, **fields)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([OrderKind.PURCHASE, OrderKind.TOP_UP]),
    policies,
    st.lists(observations, max_size=12),
    st.sampled_from([GRANT, BUNDLE]),
)
def test_any_sequence_stays_in_the_table_grants_once_and_never_unsettles(
    kind: OrderKind, policy: Policy, seen: list[PaymentIntent], parts: tuple[GrantSpec, ...]
) -> None:
    """Executed decisions move only along the table, grant every part of a single item or a
    bundle at most once and all in one batch, post each batch id once, never lower the settled
    money, and deposit exactly what they settle."""
    order = new_order(kind)
    batches: Counter[str] = Counter()
    grants = 0
    deposited = 0
    now = T0
    for observed in seen:
        now += timedelta(seconds=1)
        decision = decide(order, observed, policy, parts, now)
        before = order
        if decision.link is not None:
            order = execute(order, decision.link)
        linked = order
        if decision.outcome in (ApplyOutcome.APPLIED, ApplyOutcome.SETTLED):
            assert decision.settlement is not None
            for posting in decision.settlement.postings:
                batches[posting.batch_id] += 1
                granting = [t for t in posting.transfers if t.kind is TransferKind.GRANT]
                assert len(granting) in (0, len(parts)), posting
                for t in posting.transfers:
                    grants += t.kind is TransferKind.GRANT
                    if t.kind is TransferKind.DEPOSIT:
                        deposited += t.amount
            order = execute(order, decision.updates)
        chain = [str(linked.status)]
        for move in decision.moves:
            if move.from_status != move.to_status:
                assert move.from_status == chain[-1], decision.moves
                assert is_legal(S(move.from_status), S(move.to_status)), move
                chain.append(move.to_status)
        assert chain[-1] == str(order.status), (chain, order.status)
        assert order.settled_amount >= before.settled_amount
        assert order.granted or not before.granted
        again = decide(order, observed, policy, parts, now)
        assert again.outcome in (ApplyOutcome.DUPLICATE, ApplyOutcome.REFUSED), again
        assert again.link is None
    assert grants <= (len(parts) if kind is OrderKind.PURCHASE else 0)
    assert grants == (len(parts) if kind is OrderKind.PURCHASE and order.granted else 0)
    assert all(n == 1 for n in batches.values()), batches
    assert deposited == order.settled_amount
    if order.granted:
        assert order.status is OrderStatus.SUCCESS
