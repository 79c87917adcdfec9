"""The rewards file of `gamepay serve` (docs/rewards.md): schema, validate, start-up refusal."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gamepay.cli.main import app
from gamepay.rewards.programs import Program
from gamepay.rewards.programs_file import REWARDS_SCHEMA_ID, load_rewards_file

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the CLI; return exit code, stdout, stderr."""
    result = CliRunner().invoke(
        app, ["--env-file", os.devnull, *args], env={"COLUMNS": "400", **(env or {})}
    )
    return result.exit_code, result.stdout, result.stderr


def doc_sample() -> str:
    """The JSON sample of docs/rewards.md's scheduler section (its first json block)."""
    text = (ROOT / "docs" / "rewards.md").read_text(encoding="utf-8")
    section = text.split("## The scheduler in `gamepay serve`", 1)[1]
    found = re.search(r"^```json\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    assert found is not None
    return found.group(1)


def test_the_documented_sample_is_valid(tmp_path: Path) -> None:
    """The sample in docs/rewards.md loads as two programs, and `rewards validate` says ok."""
    path = tmp_path / "rewards.json"
    path.write_text(doc_sample())
    programs = load_rewards_file(path)
    assert [p.name for p in programs] == ["vip", "daily-login"]
    assert all(type(p) is Program for p in programs)
    assert programs[0].tiers[0].min_net == 10000
    assert programs[1].pool_account == "pool:vip"
    code, out, _ = invoke("rewards", "validate", str(path))
    assert code == 0
    assert "ok, 2 program(s): vip, daily-login" in out


def test_schema_prints_the_json_schema() -> None:
    """`rewards schema` prints a draft 2020-12 document describing every Program field."""
    code, out, _ = invoke("rewards", "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["$id"] == REWARDS_SCHEMA_ID
    assert schema["properties"]["programs"]["items"] == {"$ref": "#/$defs/Program"}
    program = schema["$defs"]["Program"]
    assert set(program["properties"]) == set(Program.model_fields)
    assert program["additionalProperties"] is False
    assert program["properties"]["cashback_bps"]["type"] == "integer"


def test_validate_reports_each_problem_on_one_line(tmp_path: Path) -> None:
    """Each problem is one line naming the program and the field; floats are refused."""
    path = tmp_path / "bad.json"
    path.write_text(
        '{"programs": [{"name": "vip", "asset": "currency:gold", "start": "2026-11-01",'
        ' "cashback_bps": 1.5, "cap": -1}, {"name": "vip", "asset": "currency:gold",'
        ' "start": "2026-11-01", "schedule": "hourly"}]}'
    )
    code, _, err = invoke("rewards", "validate", str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert lines == [
        f"{path}: program 'vip' (programs[0]) field cashback_bps: must be an int of basis "
        "points in 0..1000000, not 1.5 (a float)",
        f"{path}: program 'vip' (programs[0]) field cap: must satisfy 0 <= amount < 2**256",
        f"{path}: program 'vip' (programs[1]) field schedule: Input should be 'daily', "
        "'weekly' or 'monthly'",
    ]
    path.write_text(
        '{"programs": [{"name": "a", "asset": "currency:g", "start": "2026-11-01"},'
        ' {"name": "a", "asset": "currency:g", "start": "2026-11-02"}]}'
    )
    code, _, err = invoke("rewards", "validate", str(path))
    assert code == 2
    assert err.strip() == (
        f"{path}: programs: program name 'a' appears twice (programs[0] and programs[1])"
    )


def test_serve_refuses_a_bad_rewards_file_before_touching_the_database(tmp_path: Path) -> None:
    """`gamepay serve` with a bad GAMEPAY_REWARDS_FILE exits 2 with one line naming the
    program and the field, and never creates the database."""
    bad = tmp_path / "rewards.json"
    bad.write_text(
        '{"programs": [{"name": "vip", "asset": "currency:gold", "start": "2026-11-01",'
        ' "tiers": [{"min_net": 0}]}]}'
    )
    db = tmp_path / "db" / "gamepay.db"
    env = {
        "GAMEPAY_ENV": "dev",
        "GAMEPAY_DATABASE_URL": f"sqlite:///{db}",
        "GAMEPAY_REWARDS_FILE": str(bad),
        "GAMEPAY_HTTP_PORT": "0",
    }
    code, _, err = invoke("serve", env=env)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert errors == [
        f"error: GAMEPAY_REWARDS_FILE {bad}: program 'vip' (programs[0]) field tiers.0.min_net: "
        "a spend tier starts at a positive net amount"
    ]
    assert not db.exists()


def test_serve_refuses_an_onchain_program(tmp_path: Path) -> None:
    """The scheduler pays ledger programs only: an on-chain one is refused at start-up."""
    from gamepay.cli.scheduler import programs_for
    from gamepay.config import Settings
    from gamepay.rewards.programs_file import RewardsFileError

    path = tmp_path / "r.json"
    path.write_text(
        json.dumps(
            {
                "programs": [
                    {
                        "name": "chain",
                        "asset": "token:42161:0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9",
                        "start": "2026-11-01",
                        "payout": "onchain",
                    }
                ]
            }
        )
    )
    with pytest.raises(RewardsFileError) as caught:
        programs_for(Settings(rewards_file=path))
    assert caught.value.problems[0].startswith("program 'chain' (programs[0]) field payout:")
    assert programs_for(Settings(rewards_file=None)) == ()
