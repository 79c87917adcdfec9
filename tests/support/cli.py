"""Running the `gamepay` CLI in-process against one database, as the CLI tests do."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from gamepay.cli.main import app

__all__ = ["invoke"]


def invoke(url: str, *args: str) -> tuple[int, str]:
    """Run the CLI with GAMEPAY_DATABASE_URL=url, no env file, logs (stderr) at ERROR only;
    its exit code and stdout."""
    result = CliRunner().invoke(
        app,
        ["--env-file", os.devnull, *args],
        env={"GAMEPAY_DATABASE_URL": url, "GAMEPAY_LOG_LEVEL": "ERROR", "COLUMNS": "200"},
    )
    return result.exit_code, result.stdout
