"""An order, its ledger batch and its events in ONE round trip on PostgreSQL: ``gp_post_order``.

The function (revision ``0011_post_order``) inserts the order row unless its player already used
its ``request_id`` (then nothing is written and the caller answers that order), posts the batch
through ``gp_post`` (a refused posting raises, so the order row goes with it: nothing at all
without the funds) and inserts the events, those naming a balance with the balance the posting
left. Run on its own (``Store.run_single``) the statement is its own transaction: one round trip
instead of BEGIN, four statements and COMMIT. Every check stays where it was: the unique
``(player_id, request_id)`` key, the ledger's funds, range and idempotency checks, the events
written with the change they describe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft
from gamepay.core.events import Event
from gamepay.core.transfers import TransferSpec
from gamepay.errors import IdempotencyConflict, InvalidInput
from gamepay.ledger import BatchRecord
from gamepay.ledger.pg import is_taken_id
from gamepay.payments.context import PaymentsContext
from gamepay.payments.repository import order_row
from gamepay.store.rows import postgres_driver

__all__ = ["BalanceKey", "post_order"]

BalanceKey = tuple[str, str]
"""(account id, asset id) of a balance an event reports as the posting left it."""

_CALL = (
    "SELECT outcome, out_account, out_asset, out_available, out_held, out_event FROM"
    " gp_post_order($1, $2, $3, $4, $5, $6, $7, " + ", ".join(f"${i}" for i in range(8, 30)) + ")"
)
_REFUSED = "GP001"  # gp_post_order: the posting was refused; detail = [why, account, asset]


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not an order column value")


def _text(payload: Mapping[str, Any]) -> str:
    """The outbox's JSON text of a payload (as ``gamepay.bus.outbox.record_events`` writes it)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


async def post_order(
    ctx: PaymentsContext,
    values: Mapping[str, Any],
    batch_id: str,
    specs: Sequence[TransferSpec],
    drafts: Sequence[tuple[EventDraft, BalanceKey | None]],
    now: datetime,
) -> tuple[BatchRecord, list[Event]] | None:
    """Write the order ``values``, post ``specs`` as batch ``batch_id`` and record ``drafts``
    (at ``now``) in one statement; the batch and the events, or None when the order's request
    id was taken (nothing written). A draft paired with a balance key gets ``available`` and
    ``held`` of that balance after the posting (the posting must change it). Raises what
    ``Ledger.batch`` raises for a refused batch."""
    row = order_row(values)
    order_json = json.dumps(row, default=_json_value)
    player_id = str(row["player_id"])
    for draft, key in drafts:
        if draft.player_id != player_id:
            raise InvalidInput("every event of an order is for its player")
        if key is not None and ("available" in draft.payload or "held" in draft.payload):
            raise InvalidInput("a balance event's available and held come from the posting")
    types = [str(draft.type) for draft, _key in drafts]
    payloads = [_text(draft.payload) for draft, _key in drafts]
    accounts = [None if key is None else key[0] for _draft, key in drafts]
    assets = [None if key is None else key[1] for _draft, key in drafts]

    async def call(conn: AsyncConnection) -> tuple[BatchRecord, list[Event]] | None:
        prepared = await ctx.ledger.prepare_batch(batch_id, specs, conn=conn)
        driver = await postgres_driver(conn)
        try:
            answer = await driver.fetch(
                _CALL, order_json, player_id, types, payloads, accounts, assets, now,
                *prepared.args,
            )  # fmt: skip
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == _REFUSED:
                why, account, asset = json.loads(getattr(exc, "detail", None) or "[]")
                key = None if account is None else (account, asset)
                prepared.refused(cast(Literal["funds", "range", "taken"], why), key)
            if is_taken_id(exc):
                raise IdempotencyConflict("a transfer id of this posting is taken") from exc
            raise
        if answer[0]["outcome"] == "replay":
            return None
        record = prepared.finish(answer)
        left = {
            (r["out_account"], r["out_asset"]): (int(r["out_available"]), int(r["out_held"]))
            for r in answer
            if r["outcome"] == "ok"
        }
        ids = [int(r["out_event"]) for r in answer if r["outcome"] == "event"]
        events = []
        for event_id, (draft, key) in zip(ids, drafts, strict=True):
            payload = dict(draft.payload)
            if key is not None:
                available, held = left[key]
                payload.update(available=str(available), held=str(held))
            events.append(Event(event_id, player_id, draft.type, payload, now))
        return record, events

    result: tuple[BatchRecord, list[Event]] | None = await ctx.store.run_single(call)
    return result
