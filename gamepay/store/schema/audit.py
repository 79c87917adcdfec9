"""The operator audit log (revision ``0012_console_audit``); only ``gamepay.audit`` touches it.

``gp_audit_log``: one row per operator action (the ``/admin`` console's, or any caller's that
hands an ``Actor``), append-only: ``id`` increases; ``at`` is when it was done; ``operator`` the
label of who did it (the console has one token, so ``admin``), ``client_ip`` and ``session`` (a
hash of the console session id, never the id itself) say from where; ``action`` is a dotted
name (``withdrawals.resolve``), ``target`` what it acted on (a withdrawal id), ``details``
JSON text (amounts as decimal strings), ``result`` ``ok`` or ``refused`` and ``error`` the
refusal's stable error code.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from gamepay.store.schema.base import SEQ, metadata
from gamepay.store.types import UTCDateTime

__all__ = ["audit_table"]

audit_table = Table(
    "gp_audit_log",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("operator", String(64), nullable=False),
    Column("client_ip", String(64), nullable=False),
    Column("session", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=False),
    Column("details", Text, nullable=False),
    Column("result", String(16), nullable=False),
    Column("error", String(64), nullable=True),
    Index("ix_gp_audit_log_target", "target", "id"),
)
"""One operator action, as it was done (or refused)."""
