"""Alembic environment: runs on the connection ``Store.migrate()`` hands over.

Imports nothing from other areas: each revision creates its tables with explicit
``op.create_table`` calls, so no metadata is needed here.
"""

from __future__ import annotations

from alembic import context

from gamepay.store.database import VERSION_TABLE

__all__: list[str] = []


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("gamepay migrations run through Store.migrate(), with a connection")
    context.configure(
        connection=connection,
        target_metadata=None,
        version_table=VERSION_TABLE,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
