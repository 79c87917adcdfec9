"""``Store.schema()`` / ``require_schema()``: where the schema is, read without changing it."""

from __future__ import annotations

import pytest

from gamepay.errors import SchemaNotCurrent
from gamepay.store import Store


async def test_schema_status_before_and_after_migrate(db_url: str) -> None:
    """A fresh database has no revision and is refused by require_schema (naming the fix);
    reading the status creates no version table; after migrate() it is at the heads."""
    store = await Store.connect(db_url)
    try:
        before = await store.schema()
        assert before.current == ()
        assert before.heads
        assert not before.up_to_date
        assert not before.ahead
        assert "gamepay db upgrade" in before.describe()
        with pytest.raises(SchemaNotCurrent, match="gamepay db upgrade"):
            await store.require_schema()
        assert (await store.schema()).current == ()  # reading created nothing
        await store.migrate()
        after = await store.schema()
        assert after.up_to_date
        assert after.current == after.heads
        await store.require_schema()
    finally:
        await store.close()


async def test_a_newer_schema_says_upgrade_gamepay(db_url: str) -> None:
    """A revision this gamepay does not know (a newer release migrated) is reported as ahead."""
    from sqlalchemy import text

    store = await Store.connect(db_url)
    try:
        await store.migrate()
        async with store.transaction() as conn:
            await conn.execute(
                text(
                    "UPDATE gamepay_alembic_version SET version_num = '9999_x'"
                    " WHERE version_num = '0003_rewards'"
                )
            )
        status = await store.schema()
        assert status.ahead
        assert not status.up_to_date
        assert "upgrade gamepay" in status.describe()
        with pytest.raises(SchemaNotCurrent):
            await store.require_schema()
    finally:
        await store.close()
