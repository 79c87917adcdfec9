"""`gamepay catalog schema/validate` and the catalog format documented in docs/catalog.md."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gamepay.cli.main import app
from gamepay.payments.catalog import CATALOG_SCHEMA_ID, load_catalog

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> tuple[int, str, str]:
    """Run the CLI; return exit code, stdout, stderr."""
    result = CliRunner().invoke(app, ["--env-file", os.devnull, *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def doc_sample() -> str:
    """The JSON sample of docs/catalog.md (its first json block)."""
    text = (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    found = re.search(r"^```json\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert found is not None
    return found.group(1)


def test_schema_prints_the_json_schema() -> None:
    """`catalog schema` prints the JSON Schema document, with its id."""
    code, out, _ = invoke("catalog", "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["$id"] == CATALOG_SCHEMA_ID
    assert "CatalogItem" in schema["$defs"]


def test_the_documented_sample_is_valid(tmp_path: Path) -> None:
    """The sample in docs/catalog.md (with its bundle) validates, with its checksummed address
    normalized, and uses only fields the schema declares."""
    path = tmp_path / "catalog.json"
    path.write_text(doc_sample())
    code, out, err = invoke("catalog", "validate", str(path))
    assert (code, err) == (0, "")
    assert out.strip() == f"{path}: ok, 3 item(s)"
    catalog = load_catalog(path)
    assert len(catalog.get("starter-pack").parts) == 3  # the bundle
    sword = catalog.get("sword")
    assert sword.balance_price is not None
    assert sword.balance_price.asset_id == sword.balance_price.asset_id.lower()
    schema = json.loads(invoke("catalog", "schema")[1])
    sample = json.loads(doc_sample())
    assert set(sample) <= set(schema["properties"])
    for item in sample["items"]:
        assert set(item) <= set(schema["$defs"]["CatalogItem"]["properties"])


def test_validate_reports_each_problem_on_one_line(tmp_path: Path) -> None:
    """An invalid file exits 2 with one line per problem naming the item and the field."""
    sample = json.loads(doc_sample())
    sample["items"][0]["balance_price"]["amount"] = "5"
    sample["items"][1]["price"] = "0.001"
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(sample))
    code, out, err = invoke("catalog", "validate", str(path))
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}: item 'sword' (items[0]) field balance_price.amount: ")
    assert lines[1].startswith(f"{path}: item 'gems-100' (items[1]) field price: ")
    code, out, _ = invoke("catalog", "validate", str(path), "--json")
    assert code == 2
    assert len(out.strip().splitlines()) == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert len(report["problems"]) == 2


def test_validate_missing_and_non_json_files(tmp_path: Path) -> None:
    """A missing file and a file that is not JSON are one-line problems, exit 2."""
    code, _, err = invoke("catalog", "validate", str(tmp_path / "nope.json"))
    assert code == 2
    assert err.strip() == f"{tmp_path / 'nope.json'}: cannot read it: No such file or directory"
    bad = tmp_path / "bad.json"
    bad.write_text("{items: ")
    code, _, err = invoke("catalog", "validate", str(bad))
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "not JSON" in err


def test_serve_refuses_a_bad_catalog_file(tmp_path: Path) -> None:
    """The catalog file is read the same way by every command; a bad one names the setting."""
    from gamepay.cli.catalog import catalog_for
    from gamepay.config import Settings
    from gamepay.payments.catalog import CatalogError

    bad = tmp_path / "c.json"
    bad.write_text('{"items": [{"sku": "x"}]}')
    settings = Settings(catalog_file=bad)
    with pytest.raises(CatalogError) as caught:
        catalog_for(settings)
    assert str(caught.value).splitlines()[0].startswith(f"GAMEPAY_CATALOG_FILE {bad}: item 'x'")
    assert len(catalog_for(Settings(catalog_file=None))) == 0
