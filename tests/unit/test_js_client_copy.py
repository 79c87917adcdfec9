"""The storefront ships the official JavaScript client unchanged (a package-data copy)."""

from __future__ import annotations

from pathlib import Path

from gamepay_ws.storefront import client_js, storefront_html

ROOT = Path(__file__).resolve().parents[2]


def test_the_packaged_client_is_clients_js() -> None:
    """adapters/gamepay_ws/static/gamepay.js is byte for byte clients/js/gamepay.js (copy it)."""
    assert client_js() == (ROOT / "clients" / "js" / "gamepay.js").read_bytes()


def test_the_page_has_no_protocol_code_of_its_own() -> None:
    """The page imports the client and never builds frames or opens a socket itself."""
    page = storefront_html().decode()
    assert 'import { GamepayClient } from "./gamepay.js"' in page
    for own in ("new WebSocket", "JSON.stringify({type", '"authenticate"', "request_id"):
        assert own not in page
