"""``Trades``: player-to-player trades of in-game assets over ledger holds.

A proposes giving some assets for some of B's (``offer``): A's side is held at once (one ledger
hold per line, A -> B), so A cannot spend it meanwhile. B ``accept``s, ``decline``s, or A
``cancel``s; an offer also expires (``expire_due`` sweeps; an action on a due trade expires it
and is refused with ``TradeExpired``, so B never accepts late even before the sweep ran).

- **Atomic.** An accept is ONE transaction: the trade row leaves ``open``, A's holds are posted
  to B and B's side moves to A as one ledger batch, and both players' events are written. When
  B is short of its side nothing of it stays: ``InsufficientAsset`` names the asset and the
  shortfall and the trade stays open.
- **At most once.** The trade leaves ``open`` by a conditional ``UPDATE ... WHERE status =
  'open'`` (``gamepay.core.trades``), so among concurrent requests (on one replica or many)
  only one moves it and writes the ledger; the others read the final status: a resend with the
  same idempotency key gets the same trade back (``replayed=True``), anything else
  ``TradeClosed``.
- **Only the parties.** Only the recipient accepts or declines, only the proposer cancels;
  anyone else gets ``TradeForbidden``.
- **Pushed.** Every change writes one ``trade_changed`` event for each player in the same
  transaction (lines in the protocol's amount convention), handed to the publisher after the
  commit.
- **Tradable.** Registered in-game currencies and items only; an on-chain token is
  ``NotTradable`` (it moves only through payments and withdrawals).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft, publish_quietly, record_events
from gamepay.core.accounts import player_account
from gamepay.core.assets import Token
from gamepay.core.events import Event, EventPublisher, EventType
from gamepay.core.money import check_amount, format_amount
from gamepay.core.trades import (
    TRANSITIONS,
    TradeAction,
    TradeStatus,
    Verdict,
    decide,
    hold_id,
    is_due,
    settlement_id,
)
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import AssetNotFound, InsufficientFunds, InvalidInput
from gamepay.inventory import trade_rows as rows
from gamepay.inventory.clock import read_clock, utc_now
from gamepay.inventory.errors import (
    InsufficientAsset,
    NotTradable,
    SelfTrade,
    TradeClosed,
    TradeConflict,
    TradeExpired,
    TradeForbidden,
    TradeNotFound,
)
from gamepay.inventory.operations import check_key
from gamepay.inventory.trade_rows import Trade, TradeLine
from gamepay.ledger import Ledger, asset_code

__all__ = [
    "MAX_EXPIRY",
    "MAX_LINES",
    "Side",
    "TradeResult",
    "Trades",
]

Side = Sequence[tuple[str, int]]
"""One side of an offer: ``(asset id, amount in base units)`` pairs, each asset at most once."""

MAX_LINES = 10
"""The most lines one side of an offer may hold."""

MAX_EXPIRY = timedelta(days=30)
"""The longest an offer may stay open."""

Facts = dict[str, tuple[str, int]]


@dataclass(frozen=True, slots=True)
class TradeResult:
    """What a trade call did: the ``trade`` as it is now, whether this was a resend
    (``replayed``: nothing written) and the events written (none for a replay)."""

    trade: Trade
    replayed: bool
    events: tuple[Event, ...] = ()


def _side(side: object, name: str) -> tuple[TradeLine, ...]:
    """A side as lines: 1-10 ``(asset id, amount)`` pairs, each asset once, amounts in range."""
    if isinstance(side, str | bytes) or not isinstance(side, Sequence):
        raise InvalidInput(f"{name} must be a list of (asset id, amount) pairs")
    if not 0 < len(side) <= MAX_LINES:
        raise InvalidInput(f"{name} takes 1-{MAX_LINES} (asset id, amount) pairs")
    lines = []
    for pair in side:
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise InvalidInput(f"{name} must be a list of (asset id, amount) pairs")
        asset, amount = pair
        if not isinstance(asset, str) or not 0 < len(asset) <= 190:
            raise InvalidInput(f"{name}: an asset must be an asset id string")
        lines.append(TradeLine(asset, check_amount(amount)))
    if len({line.asset for line in lines}) != len(lines):
        raise InvalidInput(f"{name} names an asset twice: combine its amounts")
    return tuple(lines)


def _expiry(expires_in: object) -> timedelta:
    """``expires_in`` (a timedelta or whole seconds) if it is 1 second to 30 days."""
    if type(expires_in) is int:
        expires_in = timedelta(seconds=expires_in)
    if not isinstance(expires_in, timedelta) or not (
        timedelta(seconds=1) <= expires_in <= MAX_EXPIRY
    ):
        raise InvalidInput("expires_in must be 1 second to 30 days (a timedelta or seconds)")
    return expires_in


class Trades:
    """Offers, accepts, declines, cancels and expiry of player-to-player trades.

    ``publisher`` receives the committed events (e.g. the websocket adapter's bus); ``clock``
    returns aware UTC datetimes (default: the system clock) and decides expiry.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        publisher: EventPublisher | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.ledger = ledger
        self.publisher = publisher
        self._clock = clock or utc_now

    def _now(self) -> datetime:
        return read_clock(self._clock, "trades")

    # ---------------------------------------------------------------- offering

    async def offer(
        self,
        from_player: str,
        to_player: str,
        give: Side,
        want: Side,
        expires_in: timedelta | int,
        idempotency_key: str,
    ) -> TradeResult:
        """Offer ``give`` (held from ``from_player`` now) for ``want`` to ``to_player``.

        Raises SelfTrade, InvalidInput (malformed sides, an asset on both sides, an expiry
        outside 1 s..30 days), AssetNotFound, NotTradable, InsufficientAsset (the proposer is
        short: nothing held) and TradeConflict (the key was used for another offer). A resend
        with the same key and the same offer returns the first trade (``replayed=True``).
        """
        proposer, recipient = player_account(from_player), player_account(to_player)
        if from_player == to_player:
            raise SelfTrade("a player cannot trade with themselves")
        key = check_key(idempotency_key)
        gives, wants = _side(give, "give"), _side(want, "want")
        both = {line.asset for line in gives} & {line.asset for line in wants}
        if both:
            raise InvalidInput(f"asset {sorted(both)[0]!r} is on both sides of the offer")
        ttl = _expiry(expires_in)
        facts = await self._tradable([*gives, *wants])
        await self.ledger.open_account(proposer)
        await self.ledger.open_account(recipient)
        now = self._now()
        trade = Trade(
            id=f"trd_{secrets.token_hex(12)}",
            from_player=from_player,
            to_player=to_player,
            give=gives,
            want=wants,
            status=TradeStatus.OPEN,
            created_at=now,
            expires_at=now + ttl,
            offer_key=key,
        )

        async def run(conn: AsyncConnection) -> TradeResult:
            if not await rows.insert(conn, trade):
                earlier = await rows.by_key(conn, from_player, key)
                if earlier is None:  # pragma: no cover - the insert found its key taken
                    raise TradeNotFound("the offer under this key vanished")
                if (earlier.to_player, earlier.give, earlier.want) != (to_player, gives, wants):
                    raise TradeConflict(
                        f"idempotency key {key!r} of player {from_player!r} was used for "
                        "another offer"
                    )
                return TradeResult(earlier, True)
            for index, line in enumerate(gives):
                spec = TransferSpec(
                    proposer, recipient, line.asset, line.amount, TransferKind.TRADE, trade.id
                )
                try:
                    await self.ledger.hold(hold_id(trade.id, index), spec, conn=conn)
                except InsufficientFunds:
                    await self._raise_short(conn, from_player, (line,))
                    raise
            events = await record_events(conn, self._drafts(trade, None, facts), now)
            return TradeResult(trade, False, tuple(events))

        result: TradeResult = await self.ledger.store.run(run)
        await publish_quietly(self.publisher, result.events)
        return result

    async def _tradable(self, lines: Sequence[TradeLine]) -> Facts:
        """``asset id -> (code, decimals)`` of registered in-game assets; else AssetNotFound
        or NotTradable."""
        wanted = {line.asset for line in lines}
        known = await self.ledger.get_assets(wanted)
        facts: Facts = {}
        for asset_id in sorted(wanted):
            asset = known.get(asset_id)
            if asset is None:
                raise AssetNotFound(f"no asset {asset_id[:80]!r}")
            if isinstance(asset, Token):
                raise NotTradable(f"{asset_id!r} is an on-chain token: only in-game assets trade")
            facts[asset_id] = (asset_code(asset), asset.decimals)
        return facts

    async def _raise_short(
        self, conn: AsyncConnection, player_id: str, lines: Sequence[TradeLine]
    ) -> None:
        """Raise InsufficientAsset for the first line the player cannot cover (balances locked);
        return when every line is covered."""
        account = player_account(player_id)
        for line in lines:
            available = await self.ledger.available_for_update(account, line.asset, conn=conn)
            if available < line.amount:
                raise InsufficientAsset(player_id, line.asset, line.amount - available)

    # ---------------------------------------------------------------- closing

    async def accept(
        self, trade_id: str, by_player: str, idempotency_key: str | None = None
    ) -> TradeResult:
        """The recipient accepts: both sides move at once. InsufficientAsset (the recipient is
        short: nothing moved, still open), TradeExpired, TradeClosed, TradeForbidden,
        TradeNotFound; a resend with the same key returns the accepted trade."""
        return await self._act(trade_id, by_player, TradeAction.ACCEPT, idempotency_key)

    async def decline(
        self, trade_id: str, by_player: str, idempotency_key: str | None = None
    ) -> TradeResult:
        """The recipient declines: the proposer's holds are released. Errors as ``accept``."""
        return await self._act(trade_id, by_player, TradeAction.DECLINE, idempotency_key)

    async def cancel(
        self, trade_id: str, by_player: str, idempotency_key: str | None = None
    ) -> TradeResult:
        """The proposer withdraws the offer: its holds are released. Errors as ``accept``."""
        return await self._act(trade_id, by_player, TradeAction.CANCEL, idempotency_key)

    async def expire_due(self, limit: int = 100) -> int:
        """Expire up to ``limit`` open trades past their ``expires_at``, releasing their holds
        (idempotent: run it on every replica as often as you like); how many it expired."""
        if type(limit) is not int or not 0 < limit <= 10_000:
            raise InvalidInput("limit must be an int in 1..10000")
        now = self._now()
        due = await self.ledger.store.read(lambda conn: rows.open_due(conn, now, limit))
        expired = 0
        for trade_id in due:
            trade = await self._get(trade_id)
            if trade is not None and trade.status is TradeStatus.OPEN:
                moved = await self._move(trade, TradeAction.EXPIRE, None, None, now)
                expired += moved is not None
        return expired

    async def _get(self, trade_id: str) -> Trade | None:
        if not isinstance(trade_id, str) or not 0 < len(trade_id) <= 64:
            return None
        found: Trade | None = await self.ledger.store.read(lambda c: rows.get(c, trade_id))
        return found

    async def _act(
        self, trade_id: str, by_player: str, action: TradeAction, key: str | None
    ) -> TradeResult:
        """Decide a player's request on a trade and apply it (see ``gamepay.core.trades``)."""
        player_account(by_player)
        if key is not None:
            check_key(key)
        transition = TRANSITIONS[action]
        for _ in range(3):
            trade = await self._get(trade_id)
            if trade is None:
                raise TradeNotFound(f"no trade {str(trade_id)[:80]!r}")
            now = self._now()
            replay = key is not None and (trade.closed_by, trade.closed_key) == (by_player, key)
            verdict = decide(
                status=trade.status,
                action=action,
                actor_role=trade.role_of(by_player),
                due=is_due(trade.expires_at, now),
                replay=replay,
            )
            if verdict is Verdict.FORBIDDEN:
                raise TradeForbidden(f"only the trade's {transition.role} may {action} it")
            if verdict is Verdict.REPLAY:
                return TradeResult(trade, True)
            if verdict is Verdict.CLOSED:
                raise TradeClosed(f"trade {trade.id} is already {trade.status}", trade.status)
            if verdict is Verdict.EXPIRE:
                await self._move(trade, TradeAction.EXPIRE, None, None, now)
                when = trade.expires_at.isoformat()
                raise TradeExpired(f"trade {trade.id} expired at {when}", TradeStatus.EXPIRED)
            moved = await self._move(trade, action, by_player, key, now)
            if moved is not None:
                return moved
            # another request moved it first, or it fell due: read it again and decide
        raise TradeClosed(f"trade {str(trade_id)[:80]} kept changing", "unknown")

    async def _move(
        self,
        trade: Trade,
        action: TradeAction,
        by: str | None,
        key: str | None,
        now: datetime,
    ) -> TradeResult | None:
        """Move an open trade by ``action`` in one transaction; None when another request moved
        it first (or, for a player's request, it fell due)."""
        transition = TRANSITIONS[action]
        facts = await self._tradable([*trade.give, *trade.want])

        async def run(conn: AsyncConnection) -> TradeResult | None:
            unless_due = action is not TradeAction.EXPIRE
            if not await rows.close(
                conn, trade.id, transition.target, now, by=by, key=key, unless_due=unless_due
            ):
                return None
            if transition.settles:
                await self._settle(conn, trade)
            else:
                for index in range(len(trade.give)):
                    await self.ledger.void(hold_id(trade.id, index), conn=conn)
            closed = replace(
                trade, status=transition.target, closed_at=now, closed_by=by, closed_key=key
            )
            drafts = self._drafts(closed, TradeStatus.OPEN, facts)
            return TradeResult(closed, False, tuple(await record_events(conn, drafts, now)))

        result: TradeResult | None = await self.ledger.store.run(run)
        if result is not None:
            await publish_quietly(self.publisher, result.events)
        return result

    async def _settle(self, conn: AsyncConnection, trade: Trade) -> None:
        """Post the proposer's holds to the recipient and move the recipient's side to the
        proposer, in the caller's transaction; InsufficientAsset when the recipient is short."""
        for index in range(len(trade.give)):
            await self.ledger.post(hold_id(trade.id, index), conn=conn)
        recipient, proposer = player_account(trade.to_player), player_account(trade.from_player)
        specs = [
            TransferSpec(recipient, proposer, line.asset, line.amount, TransferKind.TRADE, trade.id)
            for line in trade.want
        ]
        try:
            await self.ledger.batch(settlement_id(trade.id), specs, conn=conn)
        except InsufficientFunds:
            await self._raise_short(conn, trade.to_player, trade.want)
            raise

    # ---------------------------------------------------------------- reading

    async def get(self, trade_id: str, player_id: str) -> Trade:
        """One trade as it is now, for one of its two players (TradeForbidden for anyone
        else, TradeNotFound when there is none)."""
        trade = await self._get(trade_id)
        if trade is None:
            raise TradeNotFound(f"no trade {str(trade_id)[:80]!r}")
        if trade.role_of(player_id) is None:
            raise TradeForbidden("only the trade's two players may read it")
        return trade

    async def list_trades(
        self, player_id: str, *, open_only: bool = True, limit: int = 50
    ) -> list[Trade]:
        """The player's trades (offered and received), newest first; by default only those
        still open and not yet due."""
        player_account(player_id)
        if type(limit) is not int or not 0 < limit <= 100:
            raise InvalidInput("limit must be an int in 1..100")
        now = self._now()
        found: list[Trade] = await self.ledger.store.read(
            lambda c: rows.listing(c, player_id, now, open_only=open_only, limit=limit)
        )
        return found

    # ---------------------------------------------------------------- events

    @staticmethod
    def _drafts(trade: Trade, previous: TradeStatus | None, facts: Facts) -> list[EventDraft]:
        """One ``trade_changed`` event for each of the trade's players."""

        def lines(side: tuple[TradeLine, ...]) -> list[dict[str, Any]]:
            out = []
            for line in side:
                code, decimals = facts[line.asset]
                out.append(
                    {
                        "asset": line.asset,
                        "code": code,
                        "decimals": decimals,
                        "amount": format_amount(line.amount, decimals),
                        "amount_base_units": str(line.amount),
                    }
                )
            return out

        payload = {
            "trade_id": trade.id,
            "status": str(trade.status),
            "previous": None if previous is None else str(previous),
            "from_player": trade.from_player,
            "to_player": trade.to_player,
            "give": lines(trade.give),
            "want": lines(trade.want),
            "expires_at": trade.expires_at.isoformat(),
        }
        return [
            EventDraft(player, EventType.TRADE_CHANGED, {**payload, "role": role})
            for player, role in ((trade.from_player, "proposer"), (trade.to_player, "recipient"))
        ]
