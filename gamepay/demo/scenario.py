"""What the demo's simulated players do: a seeded, pure plan (no I/O, no clock).

Each player gets a wallet address and a short list of steps. Most players behave; some pay
late, short or twice, or never pay; some top up, buy with their balance and withdraw. The same
seed always gives the same crowd, and every behaviour appears at least once whenever there are
at least ``len(Behaviour)`` players, so even ``--quick`` shows every path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from gamepay.core.addresses import checksum_evm_address

__all__ = ["Behaviour", "PlayerPlan", "Step", "plan_players"]


class Behaviour(StrEnum):
    """One thing a simulated player does."""

    BUY_EXACT = "buy_exact"
    """Buy an item with crypto and pay the exact amount in time."""
    BUY_LATE = "buy_late"
    """Buy with crypto and pay after the deadline (the intent expires)."""
    BUY_SHORT = "buy_short"
    """Buy with crypto and pay too little (insufficient, refunded later)."""
    BUY_TWICE = "buy_twice"
    """Buy with crypto and pay the intent twice (the second payment is an excess)."""
    BUY_NEVER_PAY = "buy_never_pay"
    """Buy with crypto and walk away (the intent expires)."""
    TOP_UP = "top_up"
    """Top up the token balance with crypto."""
    BUY_WITH_BALANCE = "buy_with_balance"
    """Buy an item with the token balance (after a top-up)."""
    WITHDRAW = "withdraw"
    """Withdraw part of the token balance to the player's wallet."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a player's plan; ``sku`` for purchases, ``fiat`` for top-ups."""

    behaviour: Behaviour
    sku: str | None = None
    fiat: str | None = None


@dataclass(frozen=True, slots=True)
class PlayerPlan:
    """A simulated player: id, wallet address, and the steps it takes in order."""

    player_id: str
    wallet: str
    steps: tuple[Step, ...]


_CRYPTO_BUYS = (
    Behaviour.BUY_EXACT,
    Behaviour.BUY_LATE,
    Behaviour.BUY_SHORT,
    Behaviour.BUY_TWICE,
    Behaviour.BUY_NEVER_PAY,
)
# How often each opening behaviour is drawn for players beyond the first len(Behaviour).
_WEIGHTS = {
    Behaviour.BUY_EXACT: 6,
    Behaviour.BUY_LATE: 1,
    Behaviour.BUY_SHORT: 1,
    Behaviour.BUY_TWICE: 1,
    Behaviour.BUY_NEVER_PAY: 1,
    Behaviour.TOP_UP: 4,
}


def _steps(
    first: Behaviour, skus: tuple[str, ...], top_ups: tuple[str, ...], rng: random.Random
) -> tuple[Step, ...]:
    if first in _CRYPTO_BUYS:
        steps = [Step(first, sku=rng.choice(skus))]
        if first is Behaviour.BUY_EXACT and rng.random() < 0.5:
            steps.append(Step(Behaviour.BUY_EXACT, sku=rng.choice(skus)))
        return tuple(steps)
    # The balance path: top up, then maybe buy with it, then maybe withdraw.
    steps = [Step(Behaviour.TOP_UP, fiat=rng.choice(top_ups))]
    if first in (Behaviour.BUY_WITH_BALANCE, Behaviour.WITHDRAW) or rng.random() < 0.6:
        steps.append(Step(Behaviour.BUY_WITH_BALANCE, sku=rng.choice(skus)))
    if first is Behaviour.WITHDRAW or rng.random() < 0.4:
        steps.append(Step(Behaviour.WITHDRAW))
    return tuple(steps)


def plan_players(
    count: int,
    *,
    seed: int,
    skus: tuple[str, ...],
    top_ups: tuple[str, ...] = ("300", "600"),
) -> list[PlayerPlan]:
    """Plan ``count`` players from ``seed``; the first ``len(Behaviour)`` cover every behaviour.

    Raises ``ValueError`` for a negative count or an empty catalog.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    if not skus or not top_ups:
        raise ValueError("the demo needs at least one sku and one top-up amount")
    rng = random.Random(seed)
    openings = list(Behaviour)
    population = list(_WEIGHTS)
    weights = [_WEIGHTS[b] for b in population]
    plans = []
    for index in range(count):
        first = openings[index] if index < len(openings) else rng.choices(population, weights)[0]
        wallet = checksum_evm_address(rng.randbytes(20))
        plans.append(
            PlayerPlan(f"player-{index + 1:03d}", wallet, _steps(first, skus, top_ups, rng))
        )
    return plans
