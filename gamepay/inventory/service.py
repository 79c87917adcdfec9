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
- **Only in-game assets.** Currencies and items registered in the ledger; an on-chain token
  enters and leaves only through payments and withdrawals (InvalidInput otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft, publish_quietly, record_events
from gamepay.core.accounts import AccountKind, issuer_account, player_account
from gamepay.core.assets import Token
from gamepay.core.events import Event, EventPublisher, EventType
from gamepay.errors import (
    AssetNotFound,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidInput,
)
from gamepay.inventory.errors import InsufficientAsset, OperationConflict
from gamepay.inventory.operations import (
    Operation,
    check_operations,
    check_reason,
    net_deltas,
    posting_id,
    transfer_specs,
)
from gamepay.ledger import Balance, BatchRecord, Ledger

__all__ = ["Inventory", "PostingResult"]

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


class Inventory:
    """Grants, spends and atomic multi-operations for game-server code, over a ``Ledger``.

    ``publisher`` receives the committed events (e.g. the websocket adapter's bus); without one
    they are only written to the outbox, to be replayed or relayed.
    """

    def __init__(self, ledger: Ledger, *, publisher: EventPublisher | None = None) -> None:
        self.ledger = ledger
        self.publisher = publisher

    async def grant(
        self, player_id: str, asset: str, amount: int, reason: str, idempotency_key: str
    ) -> PostingResult:
        """Give the player ``amount`` base units of ``asset`` from its issuer (a loot drop, a
        quest reward); see ``execute`` for the guarantees."""
        return await self.execute(
            player_id, [Operation.grant(asset, amount)], idempotency_key, reason=reason
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

        async def post(conn: AsyncConnection) -> PostingResult:
            for _ in range(_ATTEMPTS):
                try:
                    record = await self.ledger.batch(batch_id, specs, conn=conn)
                except IdempotencyConflict as exc:
                    raise OperationConflict(
                        f"idempotency key {idempotency_key!r} of player {player_id!r} was used "
                        "for other operations or another reason"
                    ) from exc
                except InsufficientFunds:
                    await self._raise_shortfall(conn, player_id, ops)
                    continue  # nothing is short now: funds arrived meanwhile, post again
                return await self._result(conn, player_id, ops, reason, record)
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

    async def _raise_shortfall(
        self, conn: AsyncConnection, player_id: str, ops: tuple[Operation, ...]
    ) -> None:
        """Lock the player's balances the spends need; raise InsufficientAsset for the first one
        short (returns when none is: the posting may be tried again, decisively)."""
        player = player_account(player_id)
        for op in ops:
            if op.delta >= 0:
                continue
            available = await self.ledger.available_for_update(player, op.asset, conn=conn)
            if available < op.amount:
                raise InsufficientAsset(player_id, op.asset, op.amount - available)

    async def _result(
        self,
        conn: AsyncConnection,
        player_id: str,
        ops: tuple[Operation, ...],
        reason: str,
        record: BatchRecord,
    ) -> PostingResult:
        """The result of a posting; a fresh one's events are written to the outbox here.

        Every operation changes its asset by a non-zero delta, so a fresh batch reports the
        player's balance of each; a replay reports none (and writes no event).
        """
        player = player_account(player_id)
        deltas = net_deltas(ops)
        fresh = bool(record.balances)
        balances: dict[str, Balance] = {}
        for asset_id in deltas:
            after = record.balances.get((player, asset_id))
            if after is None:
                after = await self.ledger.balance(player, asset_id, conn=conn)
            balances[asset_id] = after
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
