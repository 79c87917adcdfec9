"""``Inventory``: gameplay grants and spends of in-game assets, as atomic idempotent postings.

Every call is ONE ledger batch (``Ledger.batch``) and its outbox events, written in one
transaction (``store.run``), then handed to the publisher after the commit:

- **All or nothing.** A posting's transfers are checked on their net effect; when the player is
  short of any asset nothing moves and ``InsufficientAsset`` names the first asset short (in
  operation order) and the shortfall in base units, measured with the player's balance rows
  locked, so the figure is exact for that moment.
- **Idempotent.** The batch id is ``posting_id(player, key)``: replaying a key with the same
  operations and reason returns the first posting (``replayed=True``, no second transfer, no
  second event), even when the funds have gone since; with another body it is
  ``OperationConflict``. Concurrent calls with one key post once (the ledger claims the id).
- **Pushed.** A fresh posting writes one ``balance_changed`` event per asset it touched (the
  delta and the balance after it, amounts as decimal strings, with the posting id and reason)
  in the same transaction, so a player who is offline gets it replayed on reconnect.
- **Time-limited grants.** A grant with ``duration_s`` writes a lot (``gamepay.ledger.lots``)
  in the same transaction; spends consume unexpired lots earliest expiry first; an expired lot
  stops counting at once (``balances``, the results and the events hide it) and ``sweep``
  posts it back to the issuer (``gamepay.inventory.expiry``), so ``verify()`` holds throughout.
- **Only in-game assets.** Currencies and items registered in the ledger; an on-chain token
  enters and leaves only through payments and withdrawals (InvalidInput otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft, publish_quietly, record_events
from gamepay.core.accounts import AccountKind, issuer_account, player_account
from gamepay.core.assets import Token
from gamepay.core.events import Event, EventPublisher, EventType
from gamepay.errors import (
    AccountNotFound,
    AssetNotFound,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidInput,
)
from gamepay.inventory.clock import read_clock, utc_now
from gamepay.inventory.errors import InsufficientAsset, OperationConflict
from gamepay.inventory.expiry import SweepReport, sweep
from gamepay.inventory.operations import (
    Operation,
    OperationKind,
    check_operations,
    check_reason,
    net_deltas,
    posting_id,
    transfer_specs,
)
from gamepay.ledger import Balance, BatchRecord, Ledger
from gamepay.ledger.lots import (
    consume,
    expired_by_asset,
    hidden,
    insert_lots,
    lot_row,
    lots_by_id,
    open_lots,
    set_remaining,
)

__all__ = ["Inventory", "PostingResult", "visible_balances"]

_ATTEMPTS = 3
"""Postings tried in one transaction when a refusal finds no asset short (funds arrived)."""


@dataclass(frozen=True, slots=True)
class PostingResult:
    """What an inventory call did: the ledger batch ``id``, the player's ``balances`` of the
    assets it touched (as the posting left them; read afresh for a replay) and the ``events``
    it wrote (none for a replay)."""

    id: str
    player_id: str
    operations: tuple[Operation, ...]
    reason: str
    created_at: datetime
    replayed: bool
    balances: Mapping[str, Balance] = field(default_factory=dict)
    events: tuple[Event, ...] = ()


async def visible_balances(
    ledger: Ledger, conn: AsyncConnection, player_id: str, now: datetime
) -> dict[str, Balance]:
    """The player's ledger balances less what expired, unswept lots hide (an unknown player
    holds nothing); read in ``conn``."""
    try:
        found = await ledger.balances(player_account(player_id), conn=conn)
    except AccountNotFound:
        return {}
    expired = await expired_by_asset(conn, player_id, now)
    return {
        asset_id: Balance(
            balance.available - hidden(balance.available, expired.get(asset_id, 0)), balance.held
        )
        for asset_id, balance in found.items()
    }


class Inventory:
    """Grants, spends and atomic multi-operations for game-server code, over a ``Ledger``.

    ``publisher`` receives the committed events (e.g. the websocket adapter's bus); without one
    they are only written to the outbox, to be replayed or relayed. ``clock`` (aware UTC) says
    which lots have expired; give the ledger the same one.
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
        self.clock: Callable[[], datetime] = clock or utc_now

    def _now(self) -> datetime:
        return read_clock(self.clock, "inventory")

    async def grant(
        self,
        player_id: str,
        asset: str,
        amount: int,
        reason: str,
        idempotency_key: str,
        *,
        duration_s: int | None = None,
    ) -> PostingResult:
        """Give the player ``amount`` base units of ``asset`` from its issuer (a loot drop, a
        quest reward), expiring ``duration_s`` seconds later when given; see ``execute``."""
        return await self.execute(
            player_id,
            [Operation.grant(asset, amount, duration_s=duration_s)],
            idempotency_key,
            reason=reason,
        )

    async def spend(
        self, player_id: str, asset: str, amount: int, reason: str, idempotency_key: str
    ) -> PostingResult:
        """Take ``amount`` base units of ``asset`` from the player back to its issuer (consuming
        a potion); ``InsufficientAsset`` when the player holds less. See ``execute``."""
        return await self.execute(
            player_id, [Operation.spend(asset, amount)], idempotency_key, reason=reason
        )

    async def execute(
        self,
        player_id: str,
        operations: Sequence[Operation],
        idempotency_key: str,
        *,
        reason: str = "execute",
    ) -> PostingResult:
        """Apply ``operations`` (each asset at most once) as ONE atomic, idempotent posting.

        Raises InvalidInput (malformed arguments, an on-chain token), AssetNotFound (an asset
        the ledger does not know), InsufficientAsset (nothing moved) and OperationConflict (the
        key was used for other operations or another reason).
        """
        ops = check_operations(operations)
        check_reason(reason)
        batch_id = posting_id(player_id, idempotency_key)
        specs = transfer_specs(player_id, ops, reason)
        await self._prepare(player_id, ops)
        now = self._now()
        conflict = OperationConflict(
            f"idempotency key {idempotency_key!r} of player {player_id!r} was used "
            "for other operations or another reason"
        )

        async def post(conn: AsyncConnection) -> PostingResult:
            for _ in range(_ATTEMPTS):
                try:
                    record = await self.ledger.batch(batch_id, specs, conn=conn)
                except IdempotencyConflict as exc:
                    raise conflict from exc
                except InsufficientFunds:
                    await self._raise_shortfall(conn, player_id, ops, now)
                    continue  # nothing is short now: funds arrived meanwhile, post again
                if record.balances:
                    await self._apply_lots(conn, player_id, ops, record, now)
                elif not await self._same_lots(conn, record.id, ops):
                    raise conflict
                return await self._result(conn, player_id, ops, reason, record, now)
            raise InsufficientFunds(f"player {player_id!r} cannot cover this posting")

        result: PostingResult = await self.ledger.store.run(post)
        await publish_quietly(self.publisher, result.events)
        return result

    async def _prepare(self, player_id: str, ops: tuple[Operation, ...]) -> None:
        """Check the assets are registered in-game assets; open the player and the issuers."""
        wanted = {op.asset for op in ops}
        known = await self.ledger.get_assets(wanted)
        for asset_id in sorted(wanted):
            asset = known.get(asset_id)
            if asset is None:
                raise AssetNotFound(f"no asset {asset_id!r}")
            if isinstance(asset, Token):
                raise InvalidInput(f"{asset_id!r} is an on-chain token, not an in-game asset")
        await self.ledger.open_account(player_account(player_id))
        for asset_id in sorted(wanted):
            await self.ledger.open_account(
                issuer_account(asset_id), kind=AccountKind.SYSTEM, allow_negative=True
            )

    async def balances(self, player_id: str) -> dict[str, Balance]:
        """The player's balances as the player sees them: expired lots not counted, even
        before the sweep has posted them back (an unknown player holds nothing)."""
        now = self._now()

        async def run(conn: AsyncConnection) -> dict[str, Balance]:
            return await visible_balances(self.ledger, conn, player_id, now)

        result: dict[str, Balance] = await self.ledger.store.read(run)
        return result

    async def sweep(self, *, limit: int = 500, now: datetime | None = None) -> SweepReport:
        """Post every lot expired by ``now`` (default: the clock's; up to ``limit``) back to its
        issuer, once each, and push a ``balance_changed``; safe to rerun and on every replica."""
        if now is not None and now.tzinfo is None:
            raise InvalidInput("now must be a timezone-aware datetime")
        moment = self._now() if now is None else now.astimezone(UTC)
        report = await sweep(self.ledger, moment, limit=limit)
        await publish_quietly(self.publisher, report.events)
        return report

    async def _raise_shortfall(
        self, conn: AsyncConnection, player_id: str, ops: tuple[Operation, ...], now: datetime
    ) -> None:
        """Lock the player's balances the spends need (then their lots); raise InsufficientAsset
        for the first one short, expired lots not counted (returns when none is: the posting
        may be tried again, decisively)."""
        player = player_account(player_id)
        for op in ops:
            if op.delta >= 0:
                continue
            available = await self.ledger.available_for_update(player, op.asset, conn=conn)
            lots = await open_lots(conn, player_id, op.asset, lock=True)
            expired = sum(lot.remaining for lot in lots if lot.expired(now))
            usable = available - hidden(available, expired)
            if usable < op.amount:
                raise InsufficientAsset(player_id, op.asset, op.amount - usable)

    async def _apply_lots(
        self,
        conn: AsyncConnection,
        player_id: str,
        ops: tuple[Operation, ...],
        record: BatchRecord,
        now: datetime,
    ) -> None:
        """After a fresh batch: each spend consumes lots (InsufficientAsset, undoing it all,
        when it dipped into expired ones); each timed grant writes its lot."""
        player = player_account(player_id)
        rows = []
        for index, op in enumerate(ops):
            if op.kind is OperationKind.SPEND:
                lots = await open_lots(conn, player_id, op.asset, lock=True)
                if not lots:
                    continue
                expired = sum(lot.remaining for lot in lots if lot.expired(now))
                after = record.balances[(player, op.asset)].available
                if after < expired:
                    raise InsufficientAsset(player_id, op.asset, min(expired - after, op.amount))
                for lot_id, left in consume(lots, op.amount, now).items():
                    await set_remaining(conn, lot_id, left)
            elif op.duration_s is not None:
                lot_id = f"{record.id}/{index}"
                rows.append(
                    lot_row(
                        lot_id, player_id, op.asset, op.amount, op.duration_s, record.created_at
                    )
                )
        await insert_lots(conn, rows)

    @staticmethod
    async def _same_lots(conn: AsyncConnection, batch_id: str, ops: tuple[Operation, ...]) -> bool:
        """Whether a replayed posting's grants carry the durations its lots were written with."""
        wanted = {
            f"{batch_id}/{i}": op.duration_s
            for i, op in enumerate(ops)
            if op.kind is OperationKind.GRANT
        }
        found = await lots_by_id(conn, wanted)
        stored = {k: (found[k].duration_s if k in found else None) for k in wanted}
        return stored == wanted

    async def _result(
        self,
        conn: AsyncConnection,
        player_id: str,
        ops: tuple[Operation, ...],
        reason: str,
        record: BatchRecord,
        now: datetime,
    ) -> PostingResult:
        """The result of a posting; a fresh one's events are written to the outbox here.

        Every operation changes its asset by a non-zero delta, so a fresh batch reports the
        player's balance of each (expired lots not counted); a replay reports none (and writes
        no event).
        """
        player = player_account(player_id)
        deltas = net_deltas(ops)
        fresh = bool(record.balances)
        expired = await expired_by_asset(conn, player_id, now)
        balances: dict[str, Balance] = {}
        for asset_id in deltas:
            after = record.balances.get((player, asset_id))
            if after is None:
                after = await self.ledger.balance(player, asset_id, conn=conn)
            shown = after.available - hidden(after.available, expired.get(asset_id, 0))
            balances[asset_id] = Balance(shown, after.held)
        events: list[Event] = []
        if fresh:
            drafts = [
                EventDraft(
                    player_id,
                    EventType.BALANCE_CHANGED,
                    {
                        "posting_id": record.id,
                        "reason": reason,
                        "asset_id": asset_id,
                        "delta": str(delta),
                        "available": str(balances[asset_id].available),
                        "held": str(balances[asset_id].held),
                    },
                )
                for asset_id, delta in deltas.items()
            ]
            events = await record_events(conn, drafts, record.created_at)
        return PostingResult(
            id=record.id,
            player_id=player_id,
            operations=ops,
            reason=reason,
            created_at=record.created_at,
            replayed=not fresh,
            balances=balances,
            events=tuple(events),
        )
