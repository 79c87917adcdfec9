"""The sandbox's intent lifecycle: the transition table, and a stateful model-based test."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from gamepay.core.intents import TERMINAL, TRANSITIONS, is_legal
from gamepay.core.money import parse_amount
from gamepay.errors import SandboxError
from gamepay.kryptogo.models import PaymentIntent, PaymentStatus
from gamepay.sandbox import Sandbox, SandboxConfig

S = PaymentStatus
START = 1_700_000_000
WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"
USDT = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"


def test_transition_table() -> None:
    """The sandbox moves by the one table in gamepay.core.intents: exactly the documented moves."""
    legal = {(a, b) for a in S for b in S if is_legal(a, b)}
    assert legal == {
        (S.PENDING, S.SUCCESS),
        (S.PENDING, S.EXPIRED),
        (S.PENDING, S.INSUFFICIENT_NOT_REFUNDED),
        (S.INSUFFICIENT_NOT_REFUNDED, S.INSUFFICIENT_REFUNDED),
    }
    assert {S.SUCCESS, S.EXPIRED, S.INSUFFICIENT_REFUNDED} == TERMINAL
    assert set(TRANSITIONS) == set(S)


def test_pay_short_of_one_unit_is_refused() -> None:
    """'short' needs at least 2 base units due; an explicit amount still works."""
    sandbox = Sandbox(SandboxConfig(seed=1, frozen_clock=True, quotes={"USD": {"USDT": "1000000"}}))
    intent = sandbox.create_intent(fiat_amount="1", fiat_currency="USD")
    assert intent.crypto_amount == 1
    with pytest.raises(SandboxError) as caught:
        sandbox.pay(intent.payment_intent_id, "short")
    assert caught.value.api_code == 4000
    assert sandbox.pay(intent.payment_intent_id, 1).status is S.SUCCESS


@dataclass
class Model:
    """What the test expects of one intent."""

    crypto: int
    deadline: int
    status: PaymentStatus = S.PENDING
    on_time: int = 0
    late: int = 0
    refund: int | None = None


class SandboxMachine(RuleBasedStateMachine):
    """Random control operations against a simple model; no illegal move ever happens."""

    intents = Bundle("intents")

    def __init__(self) -> None:
        super().__init__()
        self.sandbox = Sandbox(SandboxConfig(seed=3, start_time=START, frozen_clock=True))
        self.model: dict[str, Model] = {}
        self.now = START
        self.funded = 0
        self.sent = 0

    def close_overdue(self) -> None:
        """The model's sweep: pending intents past their deadline close."""
        for m in self.model.values():
            if m.status is S.PENDING and self.now > m.deadline:
                m.status = S.INSUFFICIENT_NOT_REFUNDED if m.on_time else S.EXPIRED

    @rule(target=intents, fiat=st.sampled_from(["1", "32.5", "300.0", "0.01", "99999.99"]))
    def create(self, fiat: str) -> str:
        """Create an intent priced in TWD."""
        intent = self.sandbox.create_intent(fiat_amount=fiat, fiat_currency="TWD")
        self.close_overdue()
        self.model[intent.payment_intent_id] = Model(intent.crypto_amount, self.now + 900)
        return intent.payment_intent_id

    @rule(
        intent_id=intents,
        how=st.one_of(st.sampled_from(["exact", "short", "excess"]), st.integers(1, 10**7)),
        late=st.booleans(),
        final=st.booleans(),
    )
    def pay(self, intent_id: str, how: str | int, late: bool, final: bool) -> None:
        """Pay an intent some amount, maybe late, maybe not final."""
        self.close_overdue()
        m = self.model[intent_id]
        due = m.crypto - m.on_time if m.status is S.PENDING else m.crypto
        if how == "short" and due < 2:
            with pytest.raises(SandboxError):
                self.sandbox.pay(intent_id, how, late=late, final=final)
            return
        units = {"exact": due, "short": due // 2, "excess": due + max(1, m.crypto // 10)}.get(
            how, how
        )
        assert isinstance(units, int)
        if late and m.status is S.PENDING:
            m.status = S.INSUFFICIENT_NOT_REFUNDED if m.on_time else S.EXPIRED
        if m.status is S.PENDING:
            m.on_time += units
            if m.on_time >= m.crypto:
                m.status = S.SUCCESS
            elif final:
                m.status = S.INSUFFICIENT_NOT_REFUNDED
        else:
            m.late += units
        self.sandbox.pay(intent_id, how, late=late, final=final)

    @rule(intent_id=intents)
    def expire(self, intent_id: str) -> None:
        """Force an intent closed."""
        self.close_overdue()
        m = self.model[intent_id]
        if m.status is S.PENDING:
            m.status = S.INSUFFICIENT_NOT_REFUNDED if m.on_time else S.EXPIRED
        self.sandbox.expire(intent_id)

    @rule(intent_id=intents, partial=st.booleans())
    def refund(self, intent_id: str, partial: bool) -> None:
        """Refund an intent: legal only when it is insufficient_not_refunded."""
        self.close_overdue()
        m = self.model[intent_id]
        received = m.on_time + m.late
        amount = max(1, received // 2) if partial else None
        if m.status is not S.INSUFFICIENT_NOT_REFUNDED:
            with pytest.raises(SandboxError) as caught:
                self.sandbox.refund(intent_id, amount)
            assert caught.value.api_code == 4090
            return
        self.sandbox.refund(intent_id, amount)
        m.status = S.INSUFFICIENT_REFUNDED
        m.refund = received if amount is None else amount

    @rule(seconds=st.sampled_from([0, 1, 60, 899, 900, 901, 3600]))
    def advance(self, seconds: int) -> None:
        """Move the clock."""
        self.now = self.sandbox.advance(seconds)
        self.close_overdue()

    @rule(amount=st.integers(1, 10**8))
    def fund(self, amount: int) -> None:
        """Add USDT to the treasury."""
        self.sandbox.fund("arb", "USDT", amount)
        self.funded += amount

    @precondition(lambda self: self.funded > 0)
    @rule(units=st.integers(1, 10**8))
    def transfer(self, units: int) -> None:
        """A transfer succeeds exactly when the treasury covers it; else 4015 with the exact
        shortfall as ``insufficient_amount``."""
        amount = f"{units // 10**6}.{units % 10**6:06d}"
        if units > self.funded - self.sent:
            with pytest.raises(SandboxError) as caught:
                self.sandbox.transfer(
                    chain_id="arb", contract_address=USDT, amount=amount, wallet_address=WALLET
                )
            assert caught.value.api_code == 4015
            short = units - (self.funded - self.sent)
            expected = parse_amount(caught.value.data["insufficient_amount"], 6)  # type: ignore[attr-defined]
            assert expected == short
            return
        record = self.sandbox.transfer(
            chain_id="arb", contract_address=USDT, amount=amount, wallet_address=WALLET
        )
        assert record.transfer_id == f"1-{self.sandbox.now()}-{len(self.sandbox.transfers)}"
        self.sent += units

    @invariant()
    def only_legal_moves(self) -> None:
        """Every recorded status change is in the table, and histories chain."""
        for _, old, new in self.sandbox.status_changes:
            assert is_legal(old, new), (old, new)
        for intent_id in self.model:
            history = self.sandbox.raw_intent(intent_id).history
            assert history[0] is S.PENDING
            assert all(is_legal(a, b) for a, b in itertools.pairwise(history))

    @invariant()
    def matches_model(self) -> None:
        """Statuses and amounts are what the model expects; wire forms parse back."""
        snapshots = {i.payment_intent_id: i for i in self.sandbox.intents()}
        self.close_overdue()
        for intent_id, m in self.model.items():
            got = snapshots[intent_id]
            assert got.status is m.status, (intent_id, got.status, m.status)
            received = m.on_time + m.late
            assert got.received_amount == (received or None)
            if m.status is S.SUCCESS:
                assert got.aggregated_amount == m.on_time
                assert got.aggregation_tx_hash is not None
            else:
                assert got.aggregated_amount is None
            if m.status is S.PENDING:
                assert self.now <= got.payment_deadline
            if m.status is S.INSUFFICIENT_NOT_REFUNDED:
                assert 0 < m.on_time < m.crypto
            assert got.refund_amount == m.refund
            assert PaymentIntent.model_validate(got.to_wire()) == got

    @invariant()
    def treasury_balances(self) -> None:
        """The treasury holds what was funded minus what was sent."""
        assert self.sandbox.balance("arb", "USDT") == self.funded - self.sent
        total = sum(record.amount for record in self.sandbox.transfers.records())
        assert total == self.sent


SandboxMachine.TestCase.settings = settings(stateful_step_count=30)
test_sandbox_machine = SandboxMachine.TestCase


@settings(max_examples=40)
@given(
    groups=st.lists(st.sampled_from(["a", "b", None]), min_size=0, max_size=25),
    gaps=st.lists(st.integers(0, 50), min_size=25, max_size=25),
    pay_every=st.integers(1, 5),
    status=st.sampled_from([None, S.PENDING, S.SUCCESS]),
    group=st.sampled_from([None, "a", "b"]),
    after=st.one_of(st.none(), st.integers(START, START + 600)),
    before=st.one_of(st.none(), st.integers(START, START + 600)),
    page_size=st.integers(1, 7),
)
def test_pages_concatenate_to_the_filtered_list(
    groups: list[str | None],
    gaps: list[int],
    pay_every: int,
    status: PaymentStatus | None,
    group: str | None,
    after: int | None,
    before: int | None,
    page_size: int,
) -> None:
    """Walking every page gives exactly the filtered intents, in creation order, once each."""
    sandbox = Sandbox(SandboxConfig(seed=1, start_time=START, frozen_clock=True))
    made = []
    for n, key in enumerate(groups):
        sandbox.advance(gaps[n])
        intent = sandbox.create_intent(fiat_amount="1", fiat_currency="USD", group_key=key)
        if n % pay_every == 0:
            sandbox.pay(intent.payment_intent_id, "exact")
        made.append(intent)
    expected = [
        i.payment_intent_id
        for i in made
        if (status is None or i.status is status)
        and (group is None or i.group_key == group)
        and (after is None or i.created_at >= after)
        and (before is None or i.created_at < before)
    ]
    walked: list[str] = []
    page = 1
    while True:
        items, total = sandbox.list_intents(
            status=status,
            group_key=group,
            created_after=after,
            created_before=before,
            page=page,
            page_size=page_size,
        )
        assert total == len(expected)
        if not items:
            break
        assert len(items) <= page_size
        walked += [i.payment_intent_id for i in items]
        page += 1
    assert walked == expected
