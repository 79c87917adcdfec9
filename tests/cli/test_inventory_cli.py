"""`gamepay inventory sweep` against a real SQLite file: expires what is due, once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gamepay import Item, Store
from gamepay.inventory import Inventory
from gamepay.ledger import Ledger
from gamepay.testing import sqlite_url
from tests.support.cli import invoke


async def _expired_lots(url: str) -> None:
    store = await Store.connect(url)
    try:
        day_ago = datetime.now(UTC) - timedelta(days=1)
        ledger = Ledger(store, clock=lambda: day_ago)
        await ledger.register_asset(Item("vip"))
        inventory = Inventory(ledger, clock=lambda: day_ago)
        for n in range(3):
            await inventory.grant(f"p{n}", "item:vip", 2, "pass", "k", duration_s=3600)
        await inventory.grant("p0", "item:vip", 1, "pass", "long", duration_s=7 * 86400)
    finally:
        await store.close()


def test_sweep_expires_due_lots_once_and_says_so(tmp_path: Path) -> None:
    """Three lots are due: one run expires them (limit 2 leaves one), a re-run finds none."""
    url = sqlite_url(tmp_path / "cli.db")
    code, out = invoke(url, "db", "upgrade", "--json")
    assert code == 0, out
    asyncio.run(_expired_lots(url))
    code, out = invoke(url, "inventory", "sweep", "--limit", "2", "--json")
    assert code == 0, out
    first = json.loads(out)
    assert (first["expired"], first["more"], first["by_asset"]) == (2, True, {"item:vip": "4"})
    code, out = invoke(url, "inventory", "sweep")
    assert code == 0, out
    assert "1 lot(s) expired (2 item:vip), 0 skipped" in out
    code, out = invoke(url, "inventory", "sweep", "--json")
    assert json.loads(out)["expired"] == 0
    code, out = invoke(url, "verify", "--json")
    assert json.loads(out)["ok"] is True
