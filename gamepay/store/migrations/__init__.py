"""Alembic environment and revisions of gamepay's schema (table ``gamepay_alembic_version``).

Applied by ``Store.migrate()``, which upgrades to ``heads``: every area's revision branches from
``0001_ledger``. Revisions use explicit ``op.create_table`` calls, never autogenerate at run time.
"""
