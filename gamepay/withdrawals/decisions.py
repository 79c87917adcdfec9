"""Withdrawals waiting for an operator's decision, their candidates, and the decision itself.

```python
decisions = WithdrawalDecisions(store, withdrawals)
view = await decisions.view()                        # unknown + stuck sending, with candidates
await decisions.upload_export(data, "transfers.csv", actor)       # a Studio export's records
await decisions.resolve(view.decisions[0].withdrawal.id, sent=True, transfer_id="org-1-7",
                        actor=actor)                  # through Withdrawals.resolve, audited
```

A withdrawal waits for a decision when it is ``unknown``, or ``sending`` for longer than
``stuck_after`` (its transfer call never answered and no recovery ran). Its candidates are the
executed transfers ``gamepay.withdrawals.matching`` finds for it in the records at hand: the
deployment's own record (``executed``, e.g. the sandbox's) and the latest uploaded Studio export
(stored in ``gp_withdrawal_exports``, so every replica sees it).

``resolve`` settles one through ``Withdrawals.resolve`` (the one transition function: lock,
post or void the hold, events) and writes the audit row (``gamepay.audit``) in the SAME
transaction; ``sent`` needs the transfer id or tx hash, which no other withdrawal may hold
(``TransferClaimed``, checked in that transaction). A withdrawal already settled is
``AlreadySettled``; one not waiting is ``NotAwaitingDecision``: a second click never acts twice.
Every refusal writes its own audit row (``refused`` with the error's code) and raises.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.audit import Actor, AuditLog, record_audit
from gamepay.core.money import parse_amount
from gamepay.core.withdrawals import TERMINAL, WithdrawalStatus
from gamepay.errors import GamepayError, IllegalTransition, InvalidInput
from gamepay.store import Store
from gamepay.withdrawals.decision_errors import (
    AlreadySettled,
    ExportTooLarge,
    NotAwaitingDecision,
    TransferClaimed,
)
from gamepay.withdrawals.export import ExportError, parse_export
from gamepay.withdrawals.matching import (
    DEFAULT_SKEW,
    DEFAULT_WINDOW,
    MatchOutcome,
    match_withdrawals,
)
from gamepay.withdrawals.records import ExecutedSource, ExecutedTransfer, Withdrawal
from gamepay.withdrawals.repository import StoredExport, WithdrawalRepository
from gamepay.withdrawals.service import Withdrawals

__all__ = [
    "DEFAULT_STUCK_AFTER",
    "MAX_EXPORT_BYTES",
    "Candidate",
    "Decision",
    "DecisionsView",
    "ExportUpload",
    "WithdrawalDecisions",
]

DEFAULT_STUCK_AFTER = timedelta(minutes=15)
"""How long a withdrawal may stay ``sending`` before it waits for an operator."""
MAX_EXPORT_BYTES = 2 * 1024 * 1024
"""The largest transfer export an operator may upload (2 MiB)."""
RESOLVE = "withdrawals.resolve"
UPLOAD = "withdrawals.upload_export"
_S = WithdrawalStatus


@dataclass(frozen=True, slots=True)
class Candidate:
    """An executed transfer that may be a withdrawal's, and where it was read (record/export).

    ``amount`` is in the withdrawal's base units (None when the record's is unreadable).
    """

    source: str
    transfer_id: str | None
    tx_hash: str | None
    chain_id: str | None
    contract_address: str | None
    wallet_address: str | None
    amount: int | None
    executed_at: datetime | None
    status: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """One withdrawal waiting for an operator, what matching says of it, and its candidates."""

    withdrawal: Withdrawal
    reason: str
    verdict: MatchOutcome
    why: str
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class ExportUpload:
    """An uploaded transfer export: its file's name, sha256, size and record count."""

    id: int
    uploaded_at: datetime
    filename: str
    sha256: str
    size: int
    count: int


@dataclass(frozen=True, slots=True)
class DecisionsView:
    """Every withdrawal waiting for a decision, oldest first, and the records consulted."""

    decisions: tuple[Decision, ...]
    export: ExportUpload | None
    record_count: int


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _text(record: object, name: str) -> str | None:
    value = getattr(record, name, None)
    return value if isinstance(value, str) and value else None


def _units(record: object, w: Withdrawal) -> int | None:
    amount = getattr(record, "amount", None)
    if type(amount) is int:
        return amount
    if isinstance(amount, str):
        try:
            return parse_amount(amount, w.decimals)
        except GamepayError:
            return None
    return None


def _executed_at(record: object) -> datetime | None:
    value = getattr(record, "executed_at", None)
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else None
    return datetime.fromtimestamp(value, UTC) if type(value) is int else None


def _candidate(source: str, record: object, w: Withdrawal) -> Candidate:
    return Candidate(
        source=source,
        transfer_id=_text(record, "transfer_id"),
        tx_hash=_text(record, "tx_hash"),
        chain_id=_text(record, "chain_id"),
        contract_address=_text(record, "contract_address"),
        wallet_address=_text(record, "wallet_address"),
        amount=_units(record, w),
        executed_at=_executed_at(record),
        status=_text(record, "status"),
    )


def _upload(stored: StoredExport) -> ExportUpload:
    return ExportUpload(
        stored.id, stored.uploaded_at, stored.filename, stored.sha256, stored.size, stored.count
    )


def _records_of(stored: StoredExport) -> list[ExecutedTransfer]:
    return [ExecutedTransfer(**row) for row in json.loads(stored.records)]


def _filename(name: str) -> str:
    """The base name of an uploaded file, printable, at most 200 characters."""
    base = os.path.basename(name.replace("\\", "/")) or "export"
    return "".join(c if c.isprintable() else "_" for c in base)[:200]


def _kind(filename: str) -> str | None:
    lower = filename.lower()
    return "json" if lower.endswith(".json") else "csv" if lower.endswith(".csv") else None


class WithdrawalDecisions:
    """The operator's side of withdrawals over a store and its ``Withdrawals`` (module doc).

    ``executed`` is the deployment's own record of executed transfers (records, or a possibly
    async callable of them; None when there is none: only uploaded exports then);
    ``stuck_after`` is how long ``sending`` may last before it waits for a decision;
    ``window``/``skew`` are matching's; ``max_export_bytes`` caps an upload.
    """

    def __init__(
        self,
        store: Store,
        withdrawals: Withdrawals,
        *,
        executed: ExecutedSource | None = None,
        stuck_after: timedelta = DEFAULT_STUCK_AFTER,
        clock: Callable[[], datetime] = _utcnow,
        window: timedelta = DEFAULT_WINDOW,
        skew: timedelta = DEFAULT_SKEW,
        max_export_bytes: int = MAX_EXPORT_BYTES,
    ) -> None:
        if stuck_after <= timedelta(0) or max_export_bytes < 1:
            raise InvalidInput("stuck_after and max_export_bytes must be positive")
        self._store = store
        self._withdrawals = withdrawals
        self._executed = executed
        self._stuck_after = stuck_after
        self._clock = clock
        self._window = window
        self._skew = skew
        self._max_export_bytes = max_export_bytes
        self._rows = WithdrawalRepository(store.dialect)
        self._audit = AuditLog(store)

    @property
    def stuck_after(self) -> timedelta:
        """How long ``sending`` may last before it waits for a decision."""
        return self._stuck_after

    @property
    def max_export_bytes(self) -> int:
        """The upload size cap in bytes."""
        return self._max_export_bytes

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _waits(self, w: Withdrawal, now: datetime) -> bool:
        if w.status is _S.UNKNOWN:
            return True
        return w.status is _S.SENDING and w.updated_at <= now - self._stuck_after

    async def _source_records(self) -> list[object]:
        if self._executed is None:
            return []
        source: Any = self._executed() if callable(self._executed) else self._executed
        if inspect.isawaitable(source):
            source = await source
        return list(source)

    async def latest_export(self) -> ExportUpload | None:
        """The latest uploaded export (without its records), or None."""
        stored = await self._store.read(self._rows.latest_export)
        return None if stored is None else _upload(stored)

    async def view(self) -> DecisionsView:
        """The withdrawals waiting for a decision, oldest first, each with its candidates."""
        now = self._now()
        waiting = [
            w
            for status in (_S.UNKNOWN, _S.SENDING)
            for w in await self._withdrawals.list(status=status)
            if self._waits(w, now)
        ]
        waiting.sort(key=lambda w: (w.created_at, w.id))
        stored = await self._store.read(self._rows.latest_export)
        own = await self._source_records()
        exported: list[object] = [] if stored is None else list(_records_of(stored))
        origin = {id(r): "record" for r in own} | {id(r): "export" for r in exported}
        ids, hashes = await self._store.read(self._rows.claimed_transfers)
        verdicts = match_withdrawals(
            waiting,
            own + exported,
            claimed_ids=ids,
            claimed_hashes=hashes,
            window=self._window,
            skew=self._skew,
        )
        decisions = tuple(
            Decision(
                withdrawal=v.withdrawal,
                reason="unknown"
                if v.withdrawal.status is _S.UNKNOWN
                else f"sending since {v.withdrawal.updated_at.isoformat(timespec='seconds')}",
                verdict=v.outcome,
                why=v.why,
                candidates=tuple(
                    _candidate(origin.get(id(r), "record"), r, v.withdrawal) for r in v.candidates
                ),
            )
            for v in verdicts
        )
        return DecisionsView(
            decisions, None if stored is None else _upload(stored), len(own) + len(exported)
        )

    async def upload_export(self, data: bytes, filename: str, actor: Actor) -> ExportUpload:
        """Read and store a Studio transfer export (CSV or JSON, at most ``max_export_bytes``).

        The stored upload and its audit row commit together; a refused file (``ExportError``:
        too large, not UTF-8, unreadable row) stores nothing but its ``refused`` audit row.
        """
        name = _filename(filename)
        digest = hashlib.sha256(data).hexdigest()
        details: dict[str, Any] = {"filename": name, "size": len(data), "sha256": digest}
        now = self._now()
        try:
            if len(data) > self._max_export_bytes:
                raise ExportTooLarge(
                    f"the export is {len(data)} bytes; the limit is {self._max_export_bytes}"
                )
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ExportError("the export is not UTF-8 text") from None
            records = parse_export(text, kind=_kind(name))
        except GamepayError as exc:
            await self._audit.write(actor, UPLOAD, name, details, now, error=exc.code)
            raise
        rows = [{f: getattr(r, f) for f in ExecutedTransfer.__dataclass_fields__} for r in records]
        details["records"] = len(records)

        async def store(conn: AsyncConnection) -> int:
            upload_id = await self._rows.insert_export(
                conn,
                uploaded_at=now,
                filename=name,
                sha256=digest,
                size=len(data),
                count=len(records),
                records=json.dumps(rows, separators=(",", ":")),
            )
            await record_audit(conn, actor, UPLOAD, name, details | {"upload": upload_id}, now)
            return upload_id

        upload_id: int = await self._store.run(store)
        return ExportUpload(upload_id, now, name, digest, len(data), len(records))

    async def resolve(
        self,
        withdrawal_id: str,
        *,
        sent: bool,
        actor: Actor,
        transfer_id: str | None = None,
        tx_hash: str | None = None,
    ) -> Withdrawal:
        """Settle a waiting withdrawal as sent (posts the hold) or failed (voids it), audited.

        Raises WithdrawalNotFound, AlreadySettled, NotAwaitingDecision, TransferClaimed or
        InvalidInput (``sent`` without a transfer id or tx hash); each writes a refused row.
        """
        details: dict[str, Any] = {
            "as": "sent" if sent is True else "failed",
            "transfer_id": transfer_id,
            "tx_hash": tx_hash,
        }
        now = self._now()
        try:
            moved = await self._resolve(withdrawal_id, sent, transfer_id, tx_hash, actor, details)
        except GamepayError as exc:
            target = withdrawal_id[:200] if isinstance(withdrawal_id, str) else "?"
            await self._audit.write(actor, RESOLVE, target, details, now, error=exc.code)
            raise
        return moved

    async def _resolve(
        self,
        withdrawal_id: str,
        sent: bool,
        transfer_id: str | None,
        tx_hash: str | None,
        actor: Actor,
        details: dict[str, Any],
    ) -> Withdrawal:
        if type(sent) is not bool:
            raise InvalidInput("sent must be True or False")
        transfer_id = (transfer_id or "").strip() or None
        tx_hash = (tx_hash or "").strip() or None
        if sent and transfer_id is None and tx_hash is None:
            raise InvalidInput("resolving as sent needs the transfer id or the tx hash")
        if not sent and (transfer_id is not None or tx_hash is not None):
            raise InvalidInput("a failed withdrawal has no transfer id or tx hash")
        current = await self._withdrawals.get(withdrawal_id)
        self._require_waiting(current)
        details.update(
            {
                "from": str(current.status),
                "player_id": current.player_id,
                "asset_id": current.asset_id,
                "amount": str(current.amount),
            }
        )

        async def also(conn: AsyncConnection, moved: Withdrawal) -> None:
            if sent:
                others = [
                    other
                    for other in await self._rows.claimed_by(conn, transfer_id, tx_hash)
                    if other != moved.id
                ]
                if others:
                    raise TransferClaimed(
                        f"that transfer already settles withdrawal {others[0]}; nothing changed"
                    )
            await record_audit(conn, actor, RESOLVE, moved.id, details, self._now())

        try:
            return await self._withdrawals.resolve(
                withdrawal_id,
                sent=sent,
                transfer_id=transfer_id,
                tx_hash=tx_hash,
                include_sending=current.status is _S.SENDING,
                also=also,
            )
        except IllegalTransition:
            self._require_waiting(await self._withdrawals.get(withdrawal_id))
            raise

    def _require_waiting(self, w: Withdrawal) -> None:
        if w.status in TERMINAL:
            raise AlreadySettled(f"withdrawal {w.id} is already {w.status}: nothing changed")
        if not self._waits(w, self._now()):
            raise NotAwaitingDecision(
                f"withdrawal {w.id} is {w.status} and not waiting for a decision "
                f"(sending waits after {int(self._stuck_after.total_seconds())} s)"
            )
