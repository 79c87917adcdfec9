"""Reading KryptoGO Studio's transfer export (CSV or JSON) into ``ExecutedTransfer`` records.

The export's exact columns are not documented, so the reader accepts the names below
(case-insensitive; spaces and hyphens read as ``_``) and refuses a file it cannot read fully
(``ExportError`` naming the row and column, never guessing):

========================  ===========================================================
record field              accepted column names
========================  ===========================================================
``transfer_id``           ``id``, ``transfer_id``
``tx_hash``               ``tx_hash``, ``transaction_hash``, ``hash``, ``txid``
``chain_id``              ``chain_id``, ``chain``
``contract_address``      ``contract_address``, ``token_address``, ``token_contract``
``wallet_address``        ``wallet_address``, ``to_address``, ``to``, ``recipient``
``amount``                ``amount`` (a decimal string of whole tokens, e.g. ``2.5``)
``executed_at``           ``transfer_time``, ``executed_at``, ``time``, ``created_at``
                          (unix seconds, or ISO 8601 with an offset)
``status``                ``status`` (optional; only a success settles a withdrawal)
========================  ===========================================================

``wallet_address``, ``amount`` and the time are required in every row; other columns are
ignored. JSON: a list of row objects, or an object holding one under ``data``, ``transfers``,
``export`` or ``items`` (the sandbox's ``GET /_sandbox/transfers`` answer reads as is).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gamepay.errors import InvalidInput
from gamepay.withdrawals.records import ExecutedTransfer

__all__ = ["COLUMNS", "ExportError", "parse_export", "read_export"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "transfer_id": ("id", "transfer_id"),
    "tx_hash": ("tx_hash", "transaction_hash", "hash", "txid"),
    "chain_id": ("chain_id", "chain"),
    "contract_address": ("contract_address", "token_address", "token_contract"),
    "wallet_address": ("wallet_address", "to_address", "to", "recipient"),
    "amount": ("amount",),
    "executed_at": ("transfer_time", "executed_at", "time", "created_at"),
    "status": ("status",),
}
"""Each record field and the column names read for it, first found wins."""
_REQUIRED = ("wallet_address", "amount", "executed_at")
_LISTS = ("data", "transfers", "export", "items")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_UNIX = re.compile(r"[0-9]{1,12}")


class ExportError(InvalidInput):
    """A transfer export that cannot be read fully (the row and column are named)."""

    code = "invalid_export"


def _key(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _time(value: object, where: str) -> int:
    if type(value) is int and value >= 0:
        return value
    text = str(value).strip() if isinstance(value, str) else ""
    if _UNIX.fullmatch(text):
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ExportError(f"{where}: not unix seconds or an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ExportError(f"{where}: an ISO 8601 time needs an offset (e.g. Z or +08:00)")
    return int(parsed.astimezone(UTC).timestamp())


def _row(raw: Mapping[Any, Any], number: int) -> ExecutedTransfer:
    row = {_key(name): value for name, value in raw.items()}
    fields: dict[str, Any] = {}
    for field, names in COLUMNS.items():
        value = next((row[n] for n in names if row.get(n) not in (None, "")), None)
        if value is None:
            if field in _REQUIRED:
                raise ExportError(f"row {number}: no {field} (columns {', '.join(names)})")
            continue
        where = f"row {number}, {field}"
        if field == "executed_at":
            fields[field] = _time(value, where)
        elif field == "amount":
            text = str(value).strip()
            if isinstance(value, bool | float) or _DECIMAL.fullmatch(text) is None:
                raise ExportError(f"{where}: not a plain decimal string of whole tokens")
            fields[field] = text
        else:
            fields[field] = str(value).strip()
    return ExecutedTransfer(**fields)


def parse_export(text: str, *, kind: str | None = None) -> list[ExecutedTransfer]:
    """Read an export's text; ``kind`` is ``"csv"`` or ``"json"`` (None: guessed from the text)."""
    if kind is None:
        kind = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
    rows: list[Any]
    if kind == "json":
        try:
            data = json.loads(text)
        except ValueError:
            raise ExportError("the export is not valid JSON") from None
        if isinstance(data, dict):
            data = next((data[k] for k in _LISTS if isinstance(data.get(k), list)), None)
        if not isinstance(data, list):
            raise ExportError(f"a JSON export is a list of rows (or one under {_LISTS})")
        rows = data
    elif kind == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        raise ExportError(f"unknown export kind {kind!r}: csv or json")
    records = []
    for number, raw in enumerate(rows, start=1):
        if not isinstance(raw, Mapping):
            raise ExportError(f"row {number}: not an object")
        records.append(_row(raw, number))
    return records


def read_export(path: str) -> list[ExecutedTransfer]:
    """Read the export file at ``path`` (``.json`` as JSON, ``.csv`` as CSV, else guessed)."""
    lower = path.lower()
    kind = "json" if lower.endswith(".json") else "csv" if lower.endswith(".csv") else None
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except OSError as exc:
        raise ExportError(f"cannot read the export file: {exc.strerror}") from None
    return parse_export(text, kind=kind)
