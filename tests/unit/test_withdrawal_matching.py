"""Matching unsettled withdrawals to executed transfers without a note (pure rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.withdrawals import ExecutedTransfer, Withdrawal
from gamepay.withdrawals.matching import MatchOutcome, match_withdrawals

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
USDT = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
WALLET = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"
M = MatchOutcome


def withdrawal(
    wid: str = "wd_1",
    amount: int = 4_000_000,
    wallet: str = WALLET,
    status: WithdrawalStatus = WithdrawalStatus.UNKNOWN,
    **extra: object,
) -> Withdrawal:
    """An unsettled withdrawal of ``amount`` USDT base units created at T0."""
    return Withdrawal(
        id=wid,
        reference=f"gamepay/withdrawal/{wid}",
        player_id="alice",
        request_id=wid,
        asset_id="arb:USDT",
        chain_id="arb",
        token_address=USDT,
        decimals=6,
        amount=amount,
        address=wallet,
        status=status,
        limit_day=date(2026, 11, 24),
        created_at=T0,
        updated_at=T0,
        **extra,  # type: ignore[arg-type]
    )


def record(tid: str = "1-1-1", amount: int | str = 4_000_000, **extra: object) -> ExecutedTransfer:
    """An executed transfer to WALLET a few seconds after T0."""
    fields: dict[str, object] = {
        "transfer_id": tid,
        "tx_hash": "0x" + tid.replace("-", "").rjust(64, "0"),
        "chain_id": "arb",
        "contract_address": USDT,
        "wallet_address": WALLET,
        "amount": amount,
        "executed_at": int((T0 + timedelta(seconds=5)).timestamp()),
    }
    fields.update(extra)
    return ExecutedTransfer(**fields)  # type: ignore[arg-type]


def outcomes(*args: object, **kw: object) -> list[tuple[str, MatchOutcome, object]]:
    """(withdrawal id, outcome, settling record) for each withdrawal."""
    return [
        (m.withdrawal.id, m.outcome, m.record)
        for m in match_withdrawals(*args, **kw)  # type: ignore[arg-type]
    ]


def test_one_candidate_settles_it_as_sent() -> None:
    """Wallet, exact amount (decimal string of whole tokens too) and time: sent to it."""
    r = record(amount="4")
    assert outcomes([withdrawal()], [r]) == [("wd_1", M.SENT, r)]


def test_window_edges() -> None:
    """Inside [created - skew, created + window] only; outside nothing matches."""
    w = withdrawal()
    minutes = [-5, 30, -6, 31]
    got = [outcomes([w], [record(executed_at=T0 + timedelta(minutes=m))])[0][1] for m in minutes]
    assert got == [M.SENT, M.SENT, M.NONE, M.NONE]


def test_several_candidates_or_a_shared_one_go_to_an_operator() -> None:
    """Two records for one withdrawal, or one record two withdrawals could own: ambiguous,
    with the candidates listed; nothing settles."""
    a, b = record("1-1-1"), record("1-1-2")
    [m] = match_withdrawals([withdrawal()], [a, b], absent_means_failed=True)
    assert (m.outcome, m.candidates) == (M.AMBIGUOUS, (a, b))
    both = outcomes([withdrawal("wd_1"), withdrawal("wd_2")], [a])
    assert [o for _, o, _ in both] == [M.AMBIGUOUS, M.AMBIGUOUS]


def test_claimed_records_are_nobody_elses() -> None:
    """A record whose id or hash another withdrawal holds is not a candidate."""
    a, b = record("1-1-1"), record("1-1-2")
    assert outcomes([withdrawal()], [a, b], claimed_ids={"1-1-1"}) == [("wd_1", M.SENT, b)]
    hashes = {str(b.tx_hash)}
    assert outcomes([withdrawal()], [a, b], claimed_hashes=hashes) == [("wd_1", M.SENT, a)]


def test_identity_wins_and_must_agree() -> None:
    """A known transfer id picks its record among look-alikes; other details: mismatched."""
    a, b = record("1-1-1"), record("1-1-2")
    w = withdrawal(transfer_id="1-1-2")
    assert outcomes([w], [a, b]) == [("wd_1", M.SENT, b)]
    wrong = record("1-1-2", amount=5_000_000)
    assert outcomes([w], [a, wrong])[0][1] is M.MISMATCHED
    by_hash = withdrawal(tx_hash=str(a.tx_hash).upper().replace("0X", "0x"))
    assert outcomes([by_hash], [a, b]) == [("wd_1", M.SENT, a)]


def test_absent_means_failed_only_for_unknown_and_only_when_nothing_is_pending() -> None:
    """No record: failed if told the record is complete; never for a sending one (it may be
    in flight), never while a non-final record fits."""
    assert outcomes([withdrawal()], [], absent_means_failed=True)[0][1] is M.FAILED
    assert outcomes([withdrawal()], [])[0][1] is M.NONE
    sending = withdrawal(status=WithdrawalStatus.SENDING)
    assert outcomes([sending], [], absent_means_failed=True)[0][1] is M.NONE
    pending = record(status="pending")
    assert outcomes([withdrawal()], [pending], absent_means_failed=True)[0][1] is M.AMBIGUOUS
    assert outcomes([withdrawal()], [record(status="Success")])[0][1] is M.SENT


def test_other_wallet_amount_chain_or_token_is_not_a_candidate() -> None:
    """Any differing attribute, a missing wallet or amount, or no time: no candidate."""
    for extra in (
        {"amount": 4_000_001},
        {"wallet_address": "0x" + "2" * 40},
        {"wallet_address": "not an address"},
        {"chain_id": "eth"},
        {"contract_address": "0x" + "3" * 40},
        {"wallet_address": None},
        {"amount": None},
        {"executed_at": None},
    ):
        assert outcomes([withdrawal()], [record(**extra)])[0][1] is M.NONE, extra


@given(
    amounts=st.lists(st.integers(1, 10**9), min_size=1, max_size=8, unique=True),
    lost=st.sets(st.integers(0, 7)),
    offsets=st.lists(st.integers(-300, 1800), min_size=8, max_size=8),
)
def test_distinct_withdrawals_each_settle_to_their_own_transfer(
    amounts: list[int], lost: set[int], offsets: list[int]
) -> None:
    """Withdrawals told apart by amount each settle to their own record; those whose record
    is missing fail when the record is complete; no record settles two withdrawals."""
    ws = [withdrawal(f"wd_{i}", amount) for i, amount in enumerate(amounts)]
    rs = {
        i: record(f"1-1-{i}", amount, executed_at=T0 + timedelta(seconds=offsets[i]))
        for i, amount in enumerate(amounts)
        if i not in lost
    }
    got = outcomes(ws, list(reversed(rs.values())), absent_means_failed=True)
    for i, (wid, outcome, settled) in enumerate(got):
        assert wid == f"wd_{i}"
        if i in rs:
            assert (outcome, settled) == (M.SENT, rs[i])
        else:
            assert (outcome, settled) == (M.FAILED, None)
