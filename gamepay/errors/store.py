"""Database failures gamepay could not absorb (``StoreError``): migrations, retries exhausted."""

from __future__ import annotations

from gamepay.errors.base import GamepayError

__all__ = ["ConcurrencyError", "MigrationError", "SchemaNotCurrent", "StoreError"]


class StoreError(GamepayError):
    """The database failed in a way gamepay could not absorb."""

    code = "store_error"


class MigrationError(StoreError):
    """The schema could not be brought up to date."""

    code = "migration_error"


class SchemaNotCurrent(MigrationError):
    """The database's schema is not at this gamepay's revision: run ``gamepay db upgrade``."""

    code = "schema_not_current"


class ConcurrencyError(StoreError):
    """A transaction kept failing on serialization or deadlock after every retry."""

    code = "concurrency_error"
