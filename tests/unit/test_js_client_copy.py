"""The storefront ships the official JavaScript client itself (package data linking to it)."""

from __future__ import annotations

from pathlib import Path

from gamepay_ws.storefront import client_js, storefront_html

ROOT = Path(__file__).resolve().parents[2]


def test_the_packaged_client_is_clients_js() -> None:
    """adapters/gamepay_ws/static/gamepay.js is a link to clients/js/gamepay.js, not a copy,
    and the storefront reads the client's bytes through it."""
    packaged = ROOT / "adapters" / "gamepay_ws" / "static" / "gamepay.js"
    assert packaged.is_symlink()
    assert packaged.resolve() == (ROOT / "clients" / "js" / "gamepay.js").resolve()
    assert client_js() == (ROOT / "clients" / "js" / "gamepay.js").read_bytes()


def test_the_page_has_no_protocol_code_of_its_own() -> None:
    """The page imports the client and never builds frames or opens a socket itself."""
    page = storefront_html().decode()
    assert 'import { GamepayClient } from "./gamepay.js"' in page
    for own in ("new WebSocket", "JSON.stringify({type", '"authenticate"', "request_id"):
        assert own not in page
