"""The withdrawals page (``/admin/withdrawals``): the withdrawals waiting for a decision, their
candidates, a Studio export upload, and resolve-as-sent/failed after a confirmation step.

Everything goes through ``gamepay.withdrawals.decisions.WithdrawalDecisions`` (the listing and
matching, the stored upload, ``Withdrawals.resolve`` with the audit row in its transaction);
this module only reads forms and renders. Every POST is CSRF-checked; the upload is a
``multipart/form-data`` body read up to a cap (413 above it) and parsed with the standard
library, so the console needs no multipart dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gamepay.core.assets import Asset
from gamepay.core.money import format_amount
from gamepay.errors import GamepayError, WithdrawalNotFound
from gamepay.withdrawals.decisions import Decision, WithdrawalDecisions
from gamepay.withdrawals.export import ExportError
from gamepay.withdrawals.matching import MatchOutcome
from gamepay.withdrawals.records import Withdrawal
from gamepay_admin.reads import symbol_of
from gamepay_admin.security import AdminSession, SessionKeys
from gamepay_admin.web import (
    CSRF_FIELD,
    PREFIX,
    CsrfRefused,
    Page,
    actor_of,
    checked_form,
    console_of,
    render,
    require_session,
    same_origin,
)

__all__ = ["WITHDRAWALS", "decisions_of", "read_upload"]

FORM_OVERHEAD = 64 * 1024
"""Room for the multipart envelope and the CSRF field around an uploaded file."""
RECORDS_KEY = "withdrawals.executed"
"""``Console.extra`` key of a deployment's own record of executed transfers (optional)."""


def decisions_of(request: Request) -> WithdrawalDecisions:
    """The decisions service over the console's economy (and its record, when one is set)."""
    console = console_of(request)
    economy = console.economy
    return WithdrawalDecisions(
        economy.store, economy.withdrawals, executed=console.extra.get(RECORDS_KEY)
    )


@dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded file: its name and bytes."""

    filename: str
    data: bytes


async def read_upload(request: Request, cap: int) -> tuple[AdminSession, Upload | None]:
    """The session and the ``export`` file of a CSRF-checked multipart POST.

    401 without a session, 403 for a bad CSRF token or a foreign origin, 413 for a body above
    ``cap`` plus the envelope, 415 when the body is not ``multipart/form-data``.
    """
    session = require_session(request)
    if not same_origin(request):
        raise CsrfRefused
    kind = request.headers.get("content-type", "")
    if kind.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise HTTPException(415, "expected a file upload (multipart/form-data)")
    limit = cap + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the upload is larger than {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"the upload is larger than {limit} bytes")
    message = message_from_bytes(
        b"Content-Type: " + kind.encode("latin-1") + b"\r\n\r\n" + body, policy=policy.HTTP
    )
    fields: dict[str, str] = {}
    upload: Upload | None = None
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        filename = part.get_filename()
        if filename is not None and name == "export" and upload is None:
            upload = Upload(filename, payload)
        elif filename is None:
            fields.setdefault(name, payload.decode("utf-8", "replace"))
    if not SessionKeys.csrf_ok(session, fields.get(CSRF_FIELD)):
        raise CsrfRefused
    return session, upload


async def _assets(request: Request, withdrawals: list[Withdrawal]) -> dict[str, Asset]:
    ledger = console_of(request).economy.ledger
    return dict(await ledger.get_assets({w.asset_id for w in withdrawals}))


def _money(units: int | None, w: Withdrawal, assets: dict[str, Asset]) -> str:
    if units is None:
        return "?"
    return f"{format_amount(units, w.decimals)} {symbol_of(assets.get(w.asset_id), w.asset_id)}"


def _when(at: datetime | None) -> str:
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M:%S")


VERDICTS = {
    MatchOutcome.SENT: "one matching transfer",
    MatchOutcome.AMBIGUOUS: "several possible transfers",
    MatchOutcome.MISMATCHED: "its transfer differs",
    MatchOutcome.NONE: "no matching transfer",
    MatchOutcome.FAILED: "no transfer",
}
"""What matching's verdict means, as the page words it."""


def _row(d: Decision, assets: dict[str, Asset]) -> dict[str, Any]:
    w = d.withdrawal
    return {
        "w": w,
        "amount": _money(w.amount, w, assets),
        "created": _when(w.created_at),
        "reason": d.reason,
        "verdict": VERDICTS[d.verdict],
        "why": d.why,
        "candidates": [
            {
                "c": c,
                "amount": _money(c.amount, w, assets),
                "executed": _when(c.executed_at),
                "same_amount": c.amount == w.amount,
            }
            for c in d.candidates
        ],
    }


async def _list_page(
    request: Request, extra: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    decisions = decisions_of(request)
    view = await decisions.view()
    assets = await _assets(request, [d.withdrawal for d in view.decisions])
    notice = ""
    done, done_id = request.query_params.get("done", ""), request.query_params.get("id", "")
    if done in ("sent", "failed") and done_id:
        try:  # said only of a withdrawal that is so (a crafted link cannot claim otherwise)
            resolved = await console_of(request).economy.withdrawals.get(done_id)
        except WithdrawalNotFound:
            resolved = None
        if resolved is not None and str(resolved.status) == done:
            notice = f"Withdrawal {resolved.id} resolved as {done}."
    elif request.query_params.get("uploaded") and view.export is not None:
        notice = f"Export {view.export.filename} read: {view.export.count} transfer(s)."
    context: dict[str, Any] = {
        "title": "Withdrawals",
        "rows": [_row(d, assets) for d in view.decisions],
        "export": view.export,
        "uploaded_at": _when(view.export.uploaded_at if view.export else None),
        "records": view.record_count,
        "stuck_minutes": int(decisions.stuck_after.total_seconds() // 60),
        "cap": decisions.max_export_bytes,
        "notice": notice,
        **(extra or {}),
    }
    return render(request, "withdrawals.html", context, status_code=status_code)


async def waiting(request: Request) -> Response:
    """Every withdrawal waiting for a decision with its candidates, and the upload form."""
    require_session(request)
    return await _list_page(request)


async def upload(request: Request) -> Response:
    """Read and store an uploaded Studio export (multipart, CSRF, size-capped); its error, if
    any, is one line on the page."""
    decisions = decisions_of(request)
    session, file = await read_upload(request, decisions.max_export_bytes)
    if file is None:
        return await _list_page(request, {"error": "Choose an export file first."}, 400)
    try:
        await decisions.upload_export(file.data, file.filename, actor_of(request, session))
    except ExportError as exc:
        line = " ".join(exc.message.split())
        return await _list_page(request, {"error": f"Export refused: {line}"}, 400)
    return RedirectResponse(f"{PREFIX}/withdrawals?uploaded=1", 303)


def _choice(params: Any) -> tuple[str, str, str]:
    outcome = params.get("as", "")
    if outcome not in ("sent", "failed"):
        raise HTTPException(400, "resolve as sent or failed")
    return outcome, params.get("transfer_id", "").strip(), params.get("tx_hash", "").strip()


async def _confirm_page(
    request: Request,
    withdrawal_id: str,
    outcome: str,
    transfer_id: str,
    tx_hash: str,
    error: str = "",
    status_code: int = 200,
) -> Response:
    economy = console_of(request).economy
    try:
        w = await economy.withdrawals.get(withdrawal_id)
    except WithdrawalNotFound:
        raise HTTPException(404, "no such withdrawal") from None
    assets = await _assets(request, [w])
    context: dict[str, Any] = {
        "title": f"Resolve {w.id}",
        "w": w,
        "amount": _money(w.amount, w, assets),
        "created": _when(w.created_at),
        "outcome": outcome,
        "transfer_id": transfer_id,
        "tx_hash": tx_hash,
        "error": error,
    }
    return render(request, "withdrawal_resolve.html", context, status_code=status_code)


async def confirm(request: Request) -> Response:
    """The confirmation step: what resolving this withdrawal as sent or failed will do."""
    require_session(request)
    outcome, transfer_id, tx_hash = _choice(request.query_params)
    return await _confirm_page(
        request, request.path_params["withdrawal_id"], outcome, transfer_id, tx_hash
    )


async def resolve(request: Request) -> Response:
    """Resolve as sent or failed (POST from the confirmation page, CSRF-checked); a refusal
    (already settled, not waiting, a claimed transfer, no transfer id) is one line there."""
    form = await checked_form(request)
    session = require_session(request)
    withdrawal_id = request.path_params["withdrawal_id"]
    outcome, transfer_id, tx_hash = _choice(form)
    try:
        await decisions_of(request).resolve(
            withdrawal_id,
            sent=outcome == "sent",
            transfer_id=transfer_id or None,
            tx_hash=tx_hash or None,
            actor=actor_of(request, session),
        )
    except WithdrawalNotFound:
        raise HTTPException(404, "no such withdrawal") from None
    except GamepayError as exc:
        line = f"Not resolved ({exc.code}): {' '.join(exc.message.split())}"
        return await _confirm_page(
            request, withdrawal_id, outcome, transfer_id, tx_hash, line, status_code=409
        )
    return RedirectResponse(f"{PREFIX}/withdrawals?done={outcome}&id={withdrawal_id}", 303)


WITHDRAWALS = Page(
    "Withdrawals",
    "/withdrawals",
    [
        Route("/withdrawals", waiting, methods=["GET"]),
        Route("/withdrawals/upload", upload, methods=["POST"]),
        Route("/withdrawals/{withdrawal_id}/resolve", confirm, methods=["GET"]),
        Route("/withdrawals/{withdrawal_id}/resolve", resolve, methods=["POST"]),
    ],
)
"""The withdrawals page's nav entry and routes."""
