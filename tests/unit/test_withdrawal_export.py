"""Reading the Studio's transfer export (CSV or JSON) into executed-transfer records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gamepay.withdrawals import ExecutedTransfer
from gamepay.withdrawals.export import ExportError, parse_export, read_export

WALLET = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"


def test_csv_with_other_column_names_and_an_iso_time() -> None:
    """Header aliases (any case, spaces), an ISO time with an offset, extra columns ignored."""
    text = (
        "Transfer ID,Tx Hash,Chain,Token Address,To Address,Amount,Time,Status,Memo\n"
        f"1-1627380000-1,0xab,arb,0xFd08,{WALLET},2.5,2021-07-27T18:00:00+08:00,success,x\n"
    )
    assert parse_export(text) == [
        ExecutedTransfer(
            transfer_id="1-1627380000-1",
            tx_hash="0xab",
            chain_id="arb",
            contract_address="0xFd08",
            wallet_address=WALLET,
            amount="2.5",
            executed_at=1627380000,
            status="success",
        )
    ]


def test_json_shapes_and_the_sandbox_answer() -> None:
    """A list of rows, or one under data/transfers/export/items; unix seconds as int or text."""
    row = {"id": "1-1-1", "wallet_address": WALLET, "amount": "1", "transfer_time": 1627380000}
    for data in ([row], {"data": [row]}, {"export": [row]}, {"transfers": [row]}):
        [record] = parse_export(json.dumps(data))
        assert (record.transfer_id, record.executed_at) == ("1-1-1", 1627380000)
    sandbox_row = {
        "transfer_id": "1-2-3",
        "wallet_address": WALLET,
        "amount": "0.5",
        "executed_at": "1627380000",
    }
    [record] = parse_export(json.dumps({"count": 1, "transfers": [sandbox_row]}), kind="json")
    assert (record.transfer_id, record.amount) == ("1-2-3", "0.5")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("id,amount,time\n1,1,1\n", "no wallet_address"),
        (f"id,wallet_address,time\n1,{WALLET},1\n", "no amount"),
        (f"id,wallet_address,amount\n1,{WALLET},1\n", "no executed_at"),
        (f"wallet_address,amount,time\n{WALLET},1e3,1\n", "decimal"),
        (f"wallet_address,amount,time\n{WALLET},-1,1\n", "decimal"),
        (f"wallet_address,amount,time\n{WALLET},1,yesterday\n", "ISO 8601"),
        (f"wallet_address,amount,time\n{WALLET},1,2021-07-27T10:00:00\n", "offset"),
        ('{"rows": []}', "list of rows"),
        ("[1]", "not an object"),
        ("[{", "not valid JSON"),
        (json.dumps([{"wallet_address": WALLET, "amount": 2.5, "time": 1}]), "decimal"),
    ],
)
def test_a_row_that_cannot_be_read_refuses_the_whole_file(text: str, fragment: str) -> None:
    """Never a guess: the first unreadable row names itself and the column, typed error."""
    with pytest.raises(ExportError) as info:
        parse_export(text)
    assert fragment in info.value.message
    assert info.value.code == "invalid_export"


def test_read_export_picks_the_format_by_suffix(tmp_path: Path) -> None:
    """.json is JSON, .csv is CSV (a BOM is tolerated); a missing file is a typed error."""
    path = tmp_path / "t.csv"
    path.write_text(f"\ufeffid,wallet_address,amount,time\n9,{WALLET},3,5\n", encoding="utf-8")
    assert [r.transfer_id for r in read_export(str(path))] == ["9"]
    with pytest.raises(ExportError):
        read_export(str(tmp_path / "missing.json"))
