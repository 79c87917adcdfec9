"""The operator audit log: who did what, when, to what, and how it ended (``gp_audit_log``).

```python
actor = Actor.of("admin", client_ip="203.0.113.7", session_id="the console session id")
await record_audit(conn, actor, "withdrawals.resolve", "wd_1", {"as": "failed"}, now)  # in a tx
page = await AuditLog(store).page(limit=50)
```

An action writes its row with ``record_audit`` in the transaction that does the action, so the
row exists exactly when the action happened; a refused action writes its row (``refused`` and
the error's code) on its own with ``AuditLog.write``. Rows are never updated or deleted.
``details`` is JSON text: keep amounts as decimal strings; it is cut to ``MAX_DETAILS``
characters (a cut row says so in ``details``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.errors import InvalidInput
from gamepay.store import Store
from gamepay.store.schema.audit import audit_table

__all__ = ["MAX_DETAILS", "Actor", "AuditEntry", "AuditLog", "record_audit", "session_hash"]

MAX_DETAILS = 4000
"""The longest ``details`` JSON text stored; longer details are replaced by a cut marker."""
_A = audit_table.c
_RESULTS = ("ok", "refused")


def session_hash(session_id: str) -> str:
    """The 16-hex-digit sha256 prefix stored for a session id (the id itself never is)."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an operator label, the client's IP and the hash of its session id."""

    operator: str
    client_ip: str = ""
    session: str = ""

    @classmethod
    def of(cls, operator: str, *, client_ip: str = "", session_id: str = "") -> Actor:
        """An actor from a raw session id (hashed here, so no caller stores it by mistake)."""
        return cls(operator, client_ip, session_hash(session_id) if session_id else "")

    def __post_init__(self) -> None:
        if not isinstance(self.operator, str) or not 0 < len(self.operator) <= 64:
            raise InvalidInput("an audit operator label is a string of 1-64 characters")
        for name, value in (("client_ip", self.client_ip), ("session", self.session)):
            if not isinstance(value, str) or len(value) > 64:
                raise InvalidInput(f"an audit {name} is a string of at most 64 characters")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit log as read back."""

    id: int
    at: datetime
    operator: str
    client_ip: str
    session: str
    action: str
    target: str
    details: Mapping[str, Any]
    result: str
    error: str | None


def _details_text(details: Mapping[str, Any]) -> str:
    text = json.dumps(dict(details), sort_keys=True, default=str, separators=(",", ":"))
    if len(text) <= MAX_DETAILS:
        return text
    return json.dumps({"cut": True, "length": len(text), "start": text[: MAX_DETAILS // 2]})


async def record_audit(
    conn: AsyncConnection,
    actor: Actor,
    action: str,
    target: str,
    details: Mapping[str, Any],
    at: datetime,
    *,
    error: str | None = None,
) -> int:
    """Write one row in ``conn``'s transaction; ``error`` (a code) makes it ``refused``.

    Returns the row's id. ``at`` must be timezone-aware.
    """
    if at.tzinfo is None:
        raise InvalidInput("an audit time must be timezone-aware")
    if not 0 < len(action) <= 64 or len(target) > 200:
        raise InvalidInput("an audit action is 1-64 characters and a target at most 200")
    row = {
        "at": at,
        "operator": actor.operator,
        "client_ip": actor.client_ip,
        "session": actor.session,
        "action": action,
        "target": target,
        "details": _details_text(details),
        "result": "ok" if error is None else "refused",
        "error": None if error is None else error[:64],
    }
    inserted = await conn.execute(audit_table.insert().values(**row).returning(_A.id))
    return int(inserted.scalar_one())


def _entry(row: Any) -> AuditEntry:
    try:
        details = json.loads(row.details)
    except ValueError:
        details = {"unreadable": row.details[:200]}
    return AuditEntry(
        id=int(row.id),
        at=row.at,
        operator=row.operator,
        client_ip=row.client_ip,
        session=row.session,
        action=row.action,
        target=row.target,
        details=details if isinstance(details, dict) else {"value": details},
        result=row.result,
        error=row.error,
    )


class AuditLog:
    """The audit log of a store: write a row on its own, read pages newest first."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def write(
        self,
        actor: Actor,
        action: str,
        target: str,
        details: Mapping[str, Any],
        at: datetime,
        *,
        error: str | None = None,
    ) -> int:
        """``record_audit`` in a transaction of its own (a refused action's row)."""

        async def run(conn: AsyncConnection) -> int:
            return await record_audit(conn, actor, action, target, details, at, error=error)

        row_id: int = await self._store.run(run)
        return row_id

    async def page(
        self,
        *,
        limit: int = 50,
        before: int | None = None,
        action: str | None = None,
        target: str | None = None,
    ) -> list[AuditEntry]:
        """Up to ``limit`` (1-500) rows newest first, ids below ``before``; filter by action or
        target (exact)."""
        if type(limit) is not int or not 0 < limit <= 500:
            raise InvalidInput("an audit page holds 1-500 rows")
        query = sa.select(audit_table).order_by(_A.id.desc()).limit(limit)
        if before is not None:
            query = query.where(_A.id < before)
        if action:
            query = query.where(_A.action == action)
        if target:
            query = query.where(_A.target == target)

        async def run(conn: AsyncConnection) -> list[AuditEntry]:
            return [_entry(row) for row in await conn.execute(query)]

        found: list[AuditEntry] = await self._store.read(run)
        return found

    async def count(self) -> int:
        """How many rows the log holds."""

        async def run(conn: AsyncConnection) -> int:
            query = sa.select(sa.func.count()).select_from(audit_table)
            return int((await conn.execute(query)).scalar_one())

        total: int = await self._store.read(run)
        return total
