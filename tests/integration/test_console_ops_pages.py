"""The console's withdrawals, reward runs and audit pages over a real economy (both backends).

The economy talks to the sandbox over HTTP; an ``unknown`` withdrawal is one whose transfer
executed and lost its answer (a 504 after commit), so the sandbox's export holds its transfer.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from gamepay.audit import AuditLog
from gamepay.core.accounts import AccountKind, player_account, world_account
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.ledger import Ledger
from gamepay.rewards import Program
from gamepay.withdrawals.decisions import MAX_EXPORT_BYTES
from tests.support.console import (
    ADMIN_TOKEN,
    GOLD,
    USDT,
    WS_SECRET,
    ConsoleWorld,
    csrf_of,
    running_console,
    sign_in,
)

S = WithdrawalStatus
WALLET = "0x" + "ab" * 20


async def unknown_withdrawal(world: ConsoleWorld, request: str = "r1") -> str:
    """Alice's withdrawal of 5 USDT whose transfer executed and lost its answer; its id."""
    economy = world.economy
    await economy.withdrawals.prepare()
    await economy.ledger.open_account(player_account("alice"))
    await economy.ledger.transfer(
        f"deposit-{request}",
        TransferSpec(
            world_account(USDT.chain_id), player_account("alice"), USDT.id, 10**9,
            kind=TransferKind.DEPOSIT,
        ),
    )  # fmt: skip
    world.sandbox.sandbox.fund(USDT.chain_id, USDT.symbol, 10**12)
    world.sandbox.sandbox.arm_timeout_after_commit("transfer", "504")
    w = await economy.withdrawals.withdraw("alice", USDT.id, 5_000_000, WALLET, request_id=request)
    assert w.status is S.UNKNOWN
    return w.id


def visible(html: str) -> str:
    """The page's text without tags, whitespace folded (what an operator reads)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def secrets_absent(html: str) -> bool:
    """No secret of the deployment appears in a page."""
    return ADMIN_TOKEN not in html and WS_SECRET not in html


async def test_an_operator_uploads_an_export_and_resolves_after_confirming(db_url: str) -> None:
    """The page lists the unknown withdrawal; the uploaded export gives its transfer as the
    candidate; the confirmation page says what happens; confirming posts the hold once, the
    audit page shows the two rows, a second confirmation is a one-line refusal."""
    async with running_console(db_url) as world:
        wid = await unknown_withdrawal(world)
        http = world.http
        await sign_in(http)
        page = await http.get("/admin/withdrawals")
        assert page.status_code == 200
        text = visible(page.text)
        assert wid in text
        assert "5 USDT" in text
        assert "No export uploaded yet" in text
        [record] = world.sandbox.sandbox.transfers.records()
        export = json.dumps({"data": world.sandbox.sandbox.transfers.export_rows()})
        uploaded = await http.post(
            "/admin/withdrawals/upload",
            data={"csrf": csrf_of(page.text)},
            files={"export": ("transfers.json", export.encode(), "application/json")},
        )
        assert uploaded.status_code == 303
        page = await http.get(uploaded.headers["location"])
        text = visible(page.text)
        assert "Export transfers.json read: 1 transfer(s)." in text
        assert record.transfer_id in text
        assert "Resolve as sent with this transfer" in text

        link = re.search(
            r'href="(/admin/withdrawals/[^"]+as=sent&amp;transfer_id=[^"]+)"', page.text
        )
        assert link is not None
        confirm = await http.get(link.group(1).replace("&amp;", "&"))
        assert confirm.status_code == 200
        assert "will be posted (paid out)" in visible(confirm.text)
        assert f'value="{record.transfer_id}"' in confirm.text
        form = {
            "csrf": csrf_of(confirm.text),
            "as": "sent",
            "transfer_id": record.transfer_id,
            "tx_hash": record.tx_hash,
        }
        done = await http.post(f"/admin/withdrawals/{wid}/resolve", data=form)
        assert done.status_code == 303
        after = visible((await http.get(done.headers["location"])).text)
        assert f"Withdrawal {wid} resolved as sent." in after
        assert "Nothing is waiting for a decision." in after
        w = await world.economy.withdrawals.get(wid)
        assert (w.status, w.transfer_id, w.tx_hash) == (S.SENT, record.transfer_id, record.tx_hash)
        again = await http.post(f"/admin/withdrawals/{wid}/resolve", data=form)
        assert again.status_code == 409
        assert "Not resolved (already_settled)" in visible(again.text)
        assert (await world.economy.ledger.verify()).ok
        balance = await world.economy.ledger.balance(player_account("alice"), USDT.id)
        assert (balance.available, balance.held) == (10**9 - 5_000_000, 0)

        audit = await http.get("/admin/audit")
        text = visible(audit.text)
        assert "withdrawals.resolve" in text
        assert "withdrawals.upload_export" in text
        assert "already_settled" in text
        rows = await AuditLog(world.economy.store).page()
        assert [(r.action, r.result) for r in rows] == [
            ("withdrawals.resolve", "refused"),
            ("withdrawals.resolve", "ok"),
            ("withdrawals.upload_export", "ok"),
            ("console.sign_in", "ok"),
        ]
        assert rows[1].client_ip == "127.0.0.1"
        assert len(rows[1].session) == 16
        filtered = visible((await http.get("/admin/audit?action=withdrawals.upload_export")).text)
        assert "transfers.json" in filtered
        assert "withdrawals.resolve" not in filtered
        for html in (page.text, confirm.text, audit.text):
            assert secrets_absent(html)


async def test_failed_releases_the_hold_and_bad_exports_are_one_line(db_url: str) -> None:
    """Resolving as failed returns the funds; an unreadable export and one above the cap are
    one line each on the page (400), a body far above it is 413; none is stored."""
    async with running_console(db_url) as world:
        wid = await unknown_withdrawal(world)
        http = world.http
        await sign_in(http)
        csrf = csrf_of((await http.get("/admin/withdrawals")).text)
        bad = await http.post(
            "/admin/withdrawals/upload",
            data={"csrf": csrf},
            files={"export": ("bad.csv", b"id,wallet_address,amount\n1,0xab,\n", "text/csv")},
        )
        assert bad.status_code == 400
        [line] = list(re.findall(r'role="alert">([^<]*)<', bad.text))
        assert line.startswith("Export refused: row 1: no amount")
        big = b"a" * (MAX_EXPORT_BYTES + 1)
        over = await http.post(
            "/admin/withdrawals/upload",
            data={"csrf": csrf},
            files={"export": ("big.csv", big, "text/csv")},
        )
        assert over.status_code == 400
        assert "export is 2097153 bytes; the limit is 2097152" in visible(over.text)
        huge = await http.post(
            "/admin/withdrawals/upload",
            data={"csrf": csrf},
            files={"export": ("huge.csv", big * 2, "text/csv")},
        )
        assert huge.status_code == 413
        assert "No export uploaded yet" in visible((await http.get("/admin/withdrawals")).text)

        confirm = await http.get(f"/admin/withdrawals/{wid}/resolve?as=failed")
        assert "released" in visible(confirm.text)
        done = await http.post(
            f"/admin/withdrawals/{wid}/resolve",
            data={"csrf": csrf_of(confirm.text), "as": "failed"},
        )
        assert done.status_code == 303
        assert (await world.economy.withdrawals.get(wid)).status is S.FAILED
        balance = await world.economy.ledger.balance(player_account("alice"), USDT.id)
        assert (balance.available, balance.held) == (10**9, 0)
        assert (await world.economy.ledger.verify()).ok


async def test_actions_need_a_session_and_the_csrf_token(db_url: str) -> None:
    """Without a session the actions answer 401 and the pages redirect to sign-in; with a
    session but no or a wrong CSRF token, or a foreign Origin, 403; nothing changes and no
    audit row is written (the sign-in's is the only one)."""
    async with running_console(db_url) as world:
        wid = await unknown_withdrawal(world)
        http = world.http
        resolve = f"/admin/withdrawals/{wid}/resolve"
        upload = "/admin/withdrawals/upload"
        files = {"export": ("t.json", b"[]", "application/json")}
        assert (await http.post(resolve, data={"as": "failed"})).status_code == 401
        assert (await http.post(upload, files=files)).status_code == 401
        for path in (
            "/admin/withdrawals",
            "/admin/rewards",
            "/admin/audit",
            resolve + "?as=failed",
        ):
            answer = await http.get(path)
            assert answer.status_code == 303
            assert "/admin/signin" in answer.headers["location"]
        await sign_in(http)
        good = csrf_of((await http.get("/admin/withdrawals")).text)
        for csrf in ("", "0" * len(good)):
            form = {"as": "failed", **({"csrf": csrf} if csrf else {})}
            assert (await http.post(resolve, data=form)).status_code == 403
            assert (await http.post(upload, data=form, files=files)).status_code == 403
        foreign = {"origin": "http://evil.example"}
        form = {"as": "failed", "csrf": good}
        assert (await http.post(resolve, data=form, headers=foreign)).status_code == 403
        assert (await http.post(upload, data=form, files=files, headers=foreign)).status_code == 403
        assert (await world.economy.withdrawals.get(wid)).status is S.UNKNOWN
        rows = await AuditLog(world.economy.store).page()
        assert [r.action for r in rows] == ["console.sign_in"]  # the refused posts wrote none


async def test_reward_runs_page_shows_programs_runs_payouts_and_the_preview(db_url: str) -> None:
    """A daily program: the page shows the period run (paid, its total), the run's payouts by
    player, and today's period in progress with its preview of the purchases so far."""
    now = datetime.now(UTC)
    today = now.date()
    program = Program(
        name="daily-gold", asset=GOLD.id, schedule="daily", start=today - timedelta(days=2),
        cashback_bps=1000,
    )  # fmt: skip
    async with running_console(db_url, programs=[program]) as world:
        economy = world.economy
        yesterday = datetime.combine(today - timedelta(days=1), datetime.min.time(), UTC)
        past = Ledger(economy.store, clock=lambda: yesterday + timedelta(hours=12))
        await economy.ledger.register_asset(GOLD)
        for account in ("revenue", f"issuer:{GOLD.id}"):
            await economy.ledger.open_account(account, kind=AccountKind.SYSTEM, allow_negative=True)
        await economy.ledger.open_account(program.pool_account, kind=AccountKind.SYSTEM)
        await economy.ledger.transfer(
            "fund-pool",
            TransferSpec(
                f"issuer:{GOLD.id}", program.pool_account, GOLD.id, 10**6, TransferKind.GRANT
            ),
        )
        for i, amount in enumerate((1000, 2500)):
            player = f"player:p{i}"
            await economy.ledger.open_account(player)
            await economy.ledger.transfer(
                f"fund-{i}",
                TransferSpec(f"issuer:{GOLD.id}", player, GOLD.id, 10**6, TransferKind.GRANT),
            )
            await past.transfer(
                f"buy-{i}", TransferSpec(player, "revenue", GOLD.id, amount, TransferKind.PURCHASE)
            )
        await economy.ledger.transfer(
            "buy-today", TransferSpec("player:p1", "revenue", GOLD.id, 700, TransferKind.PURCHASE)
        )
        await economy.rewards[program.name].run_due()
        http = world.http
        await sign_in(http)
        page = await http.get("/admin/rewards")
        assert page.status_code == 200
        text = visible(page.text)
        assert "daily-gold" in text
        assert "cashback 10 %" in text
        assert f"Next period: {today.isoformat()}" in text
        assert "In progress" in text
        assert "1 player(s) rewarded of 1 seen, total 70 gold" in text
        assert (today - timedelta(days=1)).isoformat() in text
        assert "350 gold" in text  # yesterday's run: 100 + 250
        link = re.search(
            r'href="(/admin/rewards/runs/\d+)">' + str(today - timedelta(days=1)), page.text
        )
        assert link is not None
        run = visible((await http.get(link.group(1))).text)
        assert "Paid 2 (350 gold)" in run
        assert "p0 100 gold 1000 0 paid" in run
        assert "p1 250 gold 2500 0 paid" in run
        assert (await http.get("/admin/rewards/runs/999999")).status_code == 404
        assert secrets_absent(page.text)
