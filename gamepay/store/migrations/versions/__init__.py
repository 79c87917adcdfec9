"""Alembic revisions: ``0001_ledger`` and the revisions of other areas that branch from it."""
