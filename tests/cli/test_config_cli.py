"""`gamepay config` and the root options, through typer's CliRunner."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from gamepay.cli.main import app

SECRET = "sk_test_cli_7a7a7a7a"


def test_config_json_masks_secrets(tmp_path: Path) -> None:
    """--json prints every setting; the API key and DB password are masked."""
    result = CliRunner().invoke(
        app,
        ["--env-file", os.devnull, "config", "--json"],
        env={
            "GAMEPAY_KRYPTOGO_API_KEY": SECRET,
            "GAMEPAY_DATABASE_URL": f"postgresql://u:{SECRET}@db/x",
        },
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    view = json.loads(result.stdout)
    assert view["kryptogo_api_key"] == "**********"
    assert view["database_url"] == "postgresql://u:**********@db/x"


def test_env_file_option_is_read(tmp_path: Path) -> None:
    """--env-file points at a .env file whose GAMEPAY_* values take effect."""
    env_file = tmp_path / "prod.env"
    env_file.write_text("GAMEPAY_TIME_ZONE=Asia/Taipei\n")
    result = CliRunner().invoke(app, ["--env-file", str(env_file), "config", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["time_zone"] == "Asia/Taipei"


def test_bad_config_is_a_clean_error(tmp_path: Path) -> None:
    """A malformed variable ends with exit 2 and a message naming it, no traceback."""
    result = CliRunner().invoke(
        app,
        ["--env-file", os.devnull, "config"],
        env={"GAMEPAY_WS_PORT": SECRET},
    )
    assert result.exit_code == 2
    assert "GAMEPAY_WS_PORT" in result.output
    assert SECRET not in result.output
    assert "Traceback" not in result.output


def test_config_table(tmp_path: Path) -> None:
    """Without --json a table is printed."""
    result = CliRunner().invoke(app, ["--env-file", os.devnull, "config"])
    assert result.exit_code == 0, result.output
    assert "GAMEPAY_TIME_ZONE" in result.stdout
