"""The audit log on both backends: a row joins the caller's transaction, pages newest first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gamepay.audit import MAX_DETAILS, Actor, AuditLog, record_audit, session_hash
from gamepay.errors import InvalidInput
from tests.support.ledger import migrated_store

AT = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


class Boom(Exception):
    """Raised to roll a transaction back."""


async def test_rows_commit_and_roll_back_with_their_transaction(db_url: str) -> None:
    """A row written in a transaction that fails is gone with it; pages go newest first, by
    action or target, below an id; long details are cut to a marker."""
    actor = Actor.of("admin", client_ip="198.51.100.2", session_id="secret-session")
    assert actor.session == session_hash("secret-session") != "secret-session"
    async with migrated_store(db_url) as store:
        log = AuditLog(store)

        async def fail(conn: object) -> None:
            await record_audit(conn, actor, "orders.reconcile", "ord_1", {}, AT)  # type: ignore[arg-type]
            raise Boom

        with pytest.raises(Boom):
            await store.run(fail)
        assert await log.count() == 0
        first = await log.write(actor, "ledger.verify", "ledger", {"ok": True}, AT)
        second = await log.write(
            actor, "withdrawals.resolve", "wd_1", {"note": "x" * MAX_DETAILS}, AT, error="nope"
        )
        third = await log.write(actor, "withdrawals.resolve", "wd_2", {"amount": "7"}, AT)
        assert [r.id for r in await log.page()] == [third, second, first]
        assert [r.id for r in await log.page(before=third, limit=1)] == [second]
        assert [r.id for r in await log.page(action="withdrawals.resolve")] == [third, second]
        [cut] = await log.page(target="wd_1")
        assert (cut.result, cut.error, cut.details["cut"]) == ("refused", "nope", True)
        [row] = await log.page(target="wd_2")
        assert (row.operator, row.client_ip, row.details, row.at) == (
            "admin",
            "198.51.100.2",
            {"amount": "7"},
            AT,
        )


def test_bad_actors_and_pages_are_refused() -> None:
    """An empty or long operator label is InvalidInput."""
    for label in ("", "x" * 65):
        with pytest.raises(InvalidInput):
            Actor(label)
    with pytest.raises(InvalidInput):
        Actor("admin", client_ip="1" * 65)
