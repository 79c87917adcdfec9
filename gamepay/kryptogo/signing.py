"""Callback signatures: HMAC-SHA256 over a canonical form of the JSON body.

KryptoGO's enterprise webhooks carry ``timestamp`` (unix seconds) and ``signature`` (hex) inside
the JSON body; the core Payment API documents no signature, so checking is optional (see
KRYPTOGO.md). The canonical form is the body without ``signature``, serialized with sorted keys
and no spaces; it is isolated here so it is easy to correct.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

__all__ = ["SIGNATURE_FIELD", "TIMESTAMP_FIELD", "canonical_body", "sign_body", "signature_matches"]

SIGNATURE_FIELD = "signature"
TIMESTAMP_FIELD = "timestamp"


def canonical_body(body: dict[str, Any]) -> bytes:
    """Return the bytes that are signed: the body minus its signature, sorted, compact."""
    unsigned = {k: v for k, v in body.items() if k != SIGNATURE_FIELD}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_body(body: dict[str, Any], secret: str, timestamp: int) -> dict[str, Any]:
    """Return a copy of ``body`` with ``timestamp`` and its ``signature`` added."""
    stamped = dict(body)
    stamped[TIMESTAMP_FIELD] = timestamp
    digest = hmac.new(secret.encode(), canonical_body(stamped), hashlib.sha256).hexdigest()
    stamped[SIGNATURE_FIELD] = digest
    return stamped


def signature_matches(body: dict[str, Any], secret: str) -> bool:
    """Check a body's signature in constant time (timestamp window is the caller's job)."""
    given = body.get(SIGNATURE_FIELD)
    if not isinstance(given, str):
        return False
    expected = hmac.new(secret.encode(), canonical_body(body), hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.encode(), expected.encode())
