"""The ledger's tables (SQLModel), every name prefixed ``gp_``.

The schema itself is created by the Alembic revision ``0001_ledger`` (explicit
``op.create_table`` calls that must stay in step with these classes; a test compares them).
Amounts are ``Amount`` columns and timestamps ``UTCDateTime`` (see ``gamepay.store.types``).
Other areas' code may read ``gp_transfers`` with set-based SQL: its column names are a contract.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlmodel import Field, SQLModel

from gamepay.store.types import Amount, UTCDateTime

__all__ = [
    "GpAccount",
    "GpAsset",
    "GpBalance",
    "GpBatch",
    "GpHold",
    "GpTransfer",
    "accounts_table",
    "assets_table",
    "balances_table",
    "batches_table",
    "holds_table",
    "transfers_table",
]

_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class GpAsset(SQLModel, table=True):
    """A registered asset: ``code`` is a currency code, token symbol or item sku."""

    __tablename__ = "gp_assets"

    id: str = Field(sa_column=Column(String(200), primary_key=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    code: str = Field(sa_column=Column(String(64), nullable=False))
    decimals: int = Field(sa_column=Column(Integer, nullable=False))
    chain_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    address: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))


class GpAccount(SQLModel, table=True):
    """An opened account; ``allow_negative`` only for system accounts that create value."""

    __tablename__ = "gp_accounts"

    id: str = Field(sa_column=Column(String(200), primary_key=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    allow_negative: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class GpBalance(SQLModel, table=True):
    """The current balance of one account in one asset: available and held (by pending holds)."""

    __tablename__ = "gp_balances"

    account_id: str = Field(
        sa_column=Column(String(200), ForeignKey("gp_accounts.id"), primary_key=True)
    )
    asset: str = Field(sa_column=Column(String(200), ForeignKey("gp_assets.id"), primary_key=True))
    available: int = Field(sa_column=Column(Amount, nullable=False))
    held: int = Field(sa_column=Column(Amount, nullable=False))


class GpTransfer(SQLModel, table=True):
    """One append-only posting; ``seq`` orders them, ``id`` is the caller's idempotency key."""

    __tablename__ = "gp_transfers"
    __table_args__ = (
        Index("ix_gp_transfers_debit_created", "debit", "created_at"),
        Index("ix_gp_transfers_credit_created", "credit", "created_at"),
        Index("ix_gp_transfers_kind_created", "kind", "created_at"),
        Index("ix_gp_transfers_batch", "batch_id"),
    )

    seq: int | None = Field(
        default=None, sa_column=Column(_SEQ, primary_key=True, autoincrement=True)
    )
    id: str = Field(sa_column=Column(String(256), nullable=False, unique=True))
    batch_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    hold_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    debit: str = Field(sa_column=Column(String(200), ForeignKey("gp_accounts.id"), nullable=False))
    credit: str = Field(sa_column=Column(String(200), ForeignKey("gp_accounts.id"), nullable=False))
    asset: str = Field(sa_column=Column(String(200), ForeignKey("gp_assets.id"), nullable=False))
    amount: int = Field(sa_column=Column(Amount, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    memo: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class GpHold(SQLModel, table=True):
    """A two-phase transfer: pending, then posted (maybe partially) or voided."""

    __tablename__ = "gp_holds"

    id: str = Field(sa_column=Column(String(200), primary_key=True))
    debit: str = Field(sa_column=Column(String(200), ForeignKey("gp_accounts.id"), nullable=False))
    credit: str = Field(sa_column=Column(String(200), ForeignKey("gp_accounts.id"), nullable=False))
    asset: str = Field(sa_column=Column(String(200), ForeignKey("gp_assets.id"), nullable=False))
    amount: int = Field(sa_column=Column(Amount, nullable=False))
    posted_amount: int | None = Field(default=None, sa_column=Column(Amount, nullable=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    memo: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class GpBatch(SQLModel, table=True):
    """A batch id and the digest of its transfers, for idempotent replay."""

    __tablename__ = "gp_batches"

    id: str = Field(sa_column=Column(String(200), primary_key=True))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


assets_table = _table("gp_assets")
"""``gp_assets`` as a Core table."""
accounts_table = _table("gp_accounts")
"""``gp_accounts`` as a Core table."""
balances_table = _table("gp_balances")
"""``gp_balances`` as a Core table."""
transfers_table = _table("gp_transfers")
"""``gp_transfers`` as a Core table."""
holds_table = _table("gp_holds")
"""``gp_holds`` as a Core table."""
batches_table = _table("gp_batches")
"""``gp_batches`` as a Core table."""
