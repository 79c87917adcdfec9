"""Protocol 2's one amount convention, for replies and pushes alike; pure.

Every amount a client reads is a decimal string in its asset's units (``"7.23077"``), always
beside the asset id (``asset``), its display ``code`` (a token's symbol, a currency's code, an
item's sku) and its ``decimals``. Base units, where sent at all, are under a name that says so:
a push's ``<field>_base_units`` (an integer string) next to each decimal ``<field>``.

The services persist events with ledger base units (integer strings), the asset id as
``asset_id`` and the asset's ``code`` and ``decimals``; :func:`event_data` turns such a payload
into what a client is sent. An event persisted before protocol 2 without ``decimals`` keeps only
its ``<field>_base_units`` (the adapter's backend fills ``code`` and ``decimals`` in when it
replays stored events, so that only happens for an asset the ledger no longer knows).
"""

from __future__ import annotations

from typing import Any

from gamepay.core.money import format_amount

__all__ = ["AMOUNT_FIELDS", "decimal_text", "event_data", "needs_asset_facts"]

AMOUNT_FIELDS = ("amount", "delta", "available", "held")
"""Payload fields holding base units of the event's asset (integer strings)."""


def decimal_text(units: int, decimals: int) -> str:
    """``units`` base units as an exact decimal string in the asset's units (signed)."""
    if units < 0:
        return "-" + format_amount(-units, decimals)
    return format_amount(units, decimals)


def needs_asset_facts(payload: dict[str, Any]) -> bool:
    """Whether a stored payload names an asset but lacks its ``code`` or ``decimals``."""
    return isinstance(payload.get("asset_id"), str) and (
        type(payload.get("decimals")) is not int or not isinstance(payload.get("code"), str)
    )


def event_data(payload: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a push (or history entry) for a stored event payload.

    ``asset_id`` becomes ``asset``; each amount field becomes a decimal string with its base
    units beside it as ``<field>_base_units``. Other fields pass unchanged.
    """
    if "asset_id" not in payload:
        return dict(payload)
    decimals = payload.get("decimals")
    known = type(decimals) is int and 0 <= decimals <= 77
    data: dict[str, Any] = {}
    for key, value in payload.items():
        if key == "asset_id":
            data["asset"] = value
        elif key in AMOUNT_FIELDS and isinstance(value, str):
            units = _units(value)
            data[f"{key}_base_units"] = value
            if known and units is not None:
                assert isinstance(decimals, int)
                data[key] = decimal_text(units, decimals)
        else:
            data[key] = value
    data.setdefault("code", None)
    data.setdefault("decimals", None)
    return data


def _units(text: str) -> int | None:
    body = text[1:] if text.startswith("-") else text
    if not body.isascii() or not body.isdigit() or len(body) > 80:
        return None
    return int(text)
