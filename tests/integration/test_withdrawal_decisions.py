"""Withdrawals waiting for an operator: listing with candidates, export uploads, audited resolves.

Real store (both backends), ledger and served strict sandbox (tests/support/withdrawals); the
unknown withdrawals come from transfers that executed and lost their answer (a 504 after commit)
or from a crash before the call followed by recovery.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gamepay.audit import Actor, AuditLog
from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.errors import InvalidInput, WithdrawalNotFound
from gamepay.withdrawals.decision_errors import (
    AlreadySettled,
    ExportTooLarge,
    NotAwaitingDecision,
    TransferClaimed,
)
from gamepay.withdrawals.decisions import WithdrawalDecisions
from gamepay.withdrawals.export import ExportError
from gamepay.withdrawals.matching import MatchOutcome
from tests.support.withdrawals import USDT, Env, SimulatedCrash, withdrawal_env

S = WithdrawalStatus
ACTOR = Actor.of("admin", client_ip="203.0.113.7", session_id="session-one")
WALLET = "0x" + "ab" * 20


async def timed_out(env: Env, request: str, amount: int = 5_000_000) -> str:
    """A withdrawal whose transfer executed and lost its answer: ``unknown``; its id."""
    env.running.sandbox.arm_timeout_after_commit("transfer", "504")
    w = await env.service().withdraw("alice", USDT.id, amount, WALLET, request_id=request)
    assert w.status is S.UNKNOWN
    return w.id


async def never_sent(env: Env, request: str, amount: int = 3_000_000) -> str:
    """A withdrawal that crashed after committing ``sending``, before the call: ``sending``."""

    def die(step: str) -> None:
        if step == "sending":
            raise SimulatedCrash(step)

    with pytest.raises(SimulatedCrash):
        await env.service(checkpoint=die).withdraw(
            "alice", USDT.id, amount, WALLET, request_id=request
        )
    [w] = [w for w in await env.service().list(status=S.SENDING) if w.request_id == request]
    return w.id


def export_csv(rows: list[dict[str, str]]) -> bytes:
    """Rows as a Studio-style CSV export file."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def test_waiting_withdrawals_get_candidates_from_the_record_and_an_upload(
    db_url: str,
) -> None:
    """Unknown and stuck-sending withdrawals are listed oldest first; the record and the
    uploaded export each give the executed transfer as a candidate; a young sending is not."""
    async with withdrawal_env(db_url, client_timeout=0.5) as env:
        await env.deposit("alice", 10**9)
        unknown = await timed_out(env, "a")
        env.now[0] += timedelta(seconds=1)  # created later: listed second (ids are random)
        stuck = await never_sent(env, "b")
        plain = WithdrawalDecisions(env.store, env.service(), clock=env.clock)
        view = await plain.view()
        assert [d.withdrawal.id for d in view.decisions] == [unknown]  # sending is young
        assert view.decisions[0].candidates == ()
        assert (view.export, view.record_count) == (None, 0)

        env.now[0] += timedelta(minutes=15)
        view = await plain.view()
        assert [(d.withdrawal.id, d.reason[:7]) for d in view.decisions] == [
            (unknown, "unknown"),
            (stuck, "sending"),
        ]
        upload = await plain.upload_export(export_csv(env.export()), "../transfers.csv", ACTOR)
        assert (upload.filename, upload.count) == ("transfers.csv", 1)
        view = await plain.view()
        assert view.export is not None
        assert view.export.id == upload.id
        first, second = view.decisions
        [record] = env.executed()
        assert first.verdict is MatchOutcome.SENT
        assert [(c.source, c.transfer_id, c.amount) for c in first.candidates] == [
            ("export", record.transfer_id, 5_000_000)
        ]
        assert (second.verdict, second.candidates) == (MatchOutcome.NONE, ())

        with_record = WithdrawalDecisions(
            env.store, env.service(), executed=env.running.sandbox.transfers.records,
            clock=env.clock,
        )  # fmt: skip
        both = (await with_record.view()).decisions[0]
        assert both.verdict is MatchOutcome.AMBIGUOUS  # the same transfer, read twice
        assert sorted(c.source for c in both.candidates) == ["export", "record"]


async def test_resolve_settles_once_with_its_audit_row_and_refuses_the_rest(db_url: str) -> None:
    """Sent with the candidate's transfer id posts the hold and writes the audit row in the same
    commit; a second resolve, a failed stuck-sending one's twin claim, a bad input and a missing
    withdrawal are typed refusals with a refused row each; the ledger verifies."""
    async with withdrawal_env(db_url, client_timeout=0.5) as env:
        await env.deposit("alice", 10**9)
        unknown = await timed_out(env, "a")
        stuck = await never_sent(env, "b")
        env.now[0] += timedelta(minutes=20)
        decisions = WithdrawalDecisions(env.store, env.service(), clock=env.clock)
        [record] = env.executed()

        with pytest.raises(InvalidInput):
            await decisions.resolve(unknown, sent=True, actor=ACTOR)
        w = await decisions.resolve(
            unknown, sent=True, transfer_id=record.transfer_id, tx_hash=record.tx_hash, actor=ACTOR
        )
        assert (w.status, w.transfer_id) == (S.SENT, record.transfer_id)
        with pytest.raises(AlreadySettled):
            await decisions.resolve(unknown, sent=False, actor=ACTOR)
        with pytest.raises(TransferClaimed):
            await decisions.resolve(stuck, sent=True, tx_hash=record.tx_hash.upper(), actor=ACTOR)
        assert (await env.service().get(stuck)).status is S.SENDING  # rolled back whole
        failed = await decisions.resolve(stuck, sent=False, actor=ACTOR)
        assert failed.status is S.FAILED
        with pytest.raises(WithdrawalNotFound):
            await decisions.resolve("wd_nope", sent=False, actor=ACTOR)
        assert await env.balance("alice") == (10**9 - 5_000_000, 0)
        assert (await env.ledger.verify()).ok

        rows = list(reversed(await AuditLog(env.store).page(limit=10)))
        assert [(r.target, r.result, r.error) for r in rows] == [
            (unknown, "refused", "invalid_input"),
            (unknown, "ok", None),
            (unknown, "refused", "already_settled"),
            (stuck, "refused", "transfer_claimed"),
            (stuck, "ok", None),
            ("wd_nope", "refused", "withdrawal_not_found"),
        ]
        ok = rows[1]
        assert (ok.operator, ok.client_ip, ok.session) == ("admin", "203.0.113.7", ACTOR.session)
        assert "session-one" not in json.dumps([r.details for r in rows])
        assert ok.details["as"] == "sent"
        assert ok.details["amount"] == "5000000"
        assert ok.details["from"] == "unknown"
        assert rows[4].details["from"] == "sending"


async def test_a_young_sending_or_held_withdrawal_is_not_waiting(db_url: str) -> None:
    """A sending withdrawal younger than the threshold is refused (NotAwaitingDecision) and
    stays as it is."""
    async with withdrawal_env(db_url, client_timeout=0.5) as env:
        await env.deposit("alice", 10**9)
        young = await never_sent(env, "b")
        decisions = WithdrawalDecisions(
            env.store, env.service(), clock=env.clock, stuck_after=timedelta(hours=1)
        )
        with pytest.raises(NotAwaitingDecision):
            await decisions.resolve(young, sent=False, actor=ACTOR)
        assert (await env.service().get(young)).status is S.SENDING
        assert await env.balance("alice") == (10**9 - 3_000_000, 3_000_000)


async def test_a_bad_or_large_export_is_refused_in_one_line_and_stores_nothing(
    db_url: str,
) -> None:
    """Too large, not UTF-8 and a row without an amount are ExportErrors of one line; only
    their refused audit rows are written, and the previous upload stays the latest."""
    async with withdrawal_env(db_url) as env:
        decisions = WithdrawalDecisions(env.store, env.service(), max_export_bytes=200)
        good = await decisions.upload_export(b"[]", "empty.json", ACTOR)
        for data, name, code in (
            (b"x" * 201, "big.csv", "export_too_large"),
            (b"\xff\xfe\x00", "bin.csv", "invalid_export"),
            (b"id,wallet_address,amount,time\n1,0xabc,,1\n", "bad.csv", "invalid_export"),
        ):
            with pytest.raises(ExportError) as caught:
                await decisions.upload_export(data, name, ACTOR)
            assert caught.value.code == code
            assert "\n" not in caught.value.message
        with pytest.raises(ExportTooLarge):
            await decisions.upload_export(b"y" * 300, "big.json", ACTOR)
        assert (await decisions.latest_export()) == good
        rows = await AuditLog(env.store).page()
        assert [(r.action, r.target, r.result) for r in reversed(rows)] == [
            ("withdrawals.upload_export", "empty.json", "ok"),
            ("withdrawals.upload_export", "big.csv", "refused"),
            ("withdrawals.upload_export", "bin.csv", "refused"),
            ("withdrawals.upload_export", "bad.csv", "refused"),
            ("withdrawals.upload_export", "big.json", "refused"),
        ]


async def test_the_console_tables_match_their_migration(db_url: str) -> None:
    """Revision 0012_console_audit creates exactly gp_audit_log and gp_withdrawal_exports as
    the table definitions say (columns, types, indexes)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gamepay.store.schema.audit import audit_table
    from gamepay.store.schema.withdrawals import withdrawal_exports_table

    ours = sa.MetaData()
    for table in (audit_table, withdrawal_exports_table):
        table.to_metadata(ours)

    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(
            sync_conn,  # type: ignore[arg-type]
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: kind != "table" or name in ours.tables,
            },
        )
        return list(compare_metadata(context, ours))

    async with withdrawal_env(db_url) as env, env.store.transaction() as conn:
        assert await conn.run_sync(diff) == []
