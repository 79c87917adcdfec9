"""Reading callback bodies: malformed bodies, signatures, timestamp window."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gamepay.errors import CallbackRejected
from gamepay.kryptogo.signing import sign_body
from gamepay.payments.callbacks import read_callback
from gamepay.testing import intent_payload

NOW = 1_733_800_000
INTENT = intent_payload(
    status="success", received_crypto_amount="9.23", order_data={"order_id": "ord_1"}
)


def _read(body: Any, secret: str | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return read_callback(raw, {}, secret=secret, now=NOW, window=300)


def test_plain_body_is_read_with_callback_aliases() -> None:
    """An unsigned body is read; received_crypto_amount is accepted for received_amount."""
    parsed = _read(INTENT)
    assert parsed.payment_intent_id == "pi_1"
    assert parsed.intent.received_amount == 9_230_000
    assert parsed.signature is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"pi_1"',
        json.dumps({"payment_intent_id": "pi_1"}).encode(),
        json.dumps({**INTENT, "crypto_amount": "-1"}).encode(),
        json.dumps({**INTENT, "status": "paid"}).encode(),
        json.dumps({**INTENT, "payment_intent_id": ""}).encode(),
        b"{" * 70_000,
    ],
)
def test_malformed_bodies_are_400(body: bytes) -> None:
    """Anything that is not a JSON object describing an intent is refused with 400."""
    with pytest.raises(CallbackRejected) as info:
        _read(body)
    assert getattr(info.value, "status", None) == 400


def test_signed_body_checked_when_secret_set() -> None:
    """With a secret: a good signature passes; missing, wrong or stale ones are 401."""
    signed = sign_body(INTENT, "s3cret", NOW - 10)
    assert _read(signed, "s3cret").signature == signed["signature"]
    cases = [
        INTENT,  # unsigned
        sign_body(INTENT, "other", NOW),  # wrong secret
        {**signed, "status": "expired"},  # tampered after signing
        sign_body(INTENT, "s3cret", NOW - 301),  # too old
        sign_body(INTENT, "s3cret", NOW + 301),  # from the future
    ]
    for body in cases:
        with pytest.raises(CallbackRejected) as info:
            _read(body, "s3cret")
        assert getattr(info.value, "status", None) == 401


def test_signature_is_checked_before_the_body_is_parsed() -> None:
    """With a secret, an unsigned or forged body is 401 even when it is no intent at all (the
    model parser, which would say 400, is never reached); a signed malformed body is then 400;
    the window is inclusive (exactly 300 s old or ahead is accepted)."""
    for forged in ({"payment_intent_id": "pi_1"}, sign_body({"x": 1}, "other", NOW), {}):
        with pytest.raises(CallbackRejected) as info:
            _read(forged, "s3cret")
        assert getattr(info.value, "status", None) == 401
    with pytest.raises(CallbackRejected) as info:
        _read(sign_body({"payment_intent_id": "pi_1"}, "s3cret", NOW), "s3cret")
    assert getattr(info.value, "status", None) == 400
    for edge in (NOW - 300, NOW + 300):
        assert _read(sign_body(INTENT, "s3cret", edge), "s3cret").payment_intent_id == "pi_1"


def test_signature_ignored_without_secret() -> None:
    """Without a secret a signed body is read normally (it is only a hint anyway)."""
    signed = sign_body(INTENT, "whatever", NOW)
    assert _read(signed).payment_intent_id == "pi_1"
