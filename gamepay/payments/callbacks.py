"""KryptoGO callbacks, framework-neutral: raw body + headers in, status + body out.

A callback is only ever a hint. ``handle_callback`` reads the body (``read_callback``): it
decodes the JSON object, then, when a secret is configured, checks the signature and timestamp
BEFORE any of the untrusted content is parsed into models (bad or missing signature, or a
``timestamp`` more than ``PaymentsConfig.callback_window`` seconds, default 300, before or after
our clock -> 401), then parses the intent (malformed -> 400), fetches it back from the API and
applies what the API says. So a forged body claiming ``success`` for a pending intent grants
nothing: the fetched intent says ``pending``. A signed body already processed (same signature)
is a replay: acknowledged (200) and not processed again. Unknown intents are recorded and
acknowledged (200), so KryptoGO stops resending them. When the API cannot be reached the answer
is 503, so KryptoGO retries later (and the poller catches up meanwhile).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from gamepay.errors import CallbackRejected, KryptoGOError, NotFoundError, PaymentError
from gamepay.kryptogo.models import PaymentIntent
from gamepay.kryptogo.signing import SIGNATURE_FIELD, TIMESTAMP_FIELD, signature_matches
from gamepay.payments import repository as q
from gamepay.payments.apply import apply, record_unknown
from gamepay.payments.context import PaymentsContext

__all__ = [
    "MAX_CALLBACK_BYTES",
    "CallbackResponse",
    "ParsedCallback",
    "handle_callback",
    "read_callback",
    "response",
]

log = logging.getLogger("gamepay.payments.callbacks")

MAX_CALLBACK_BYTES = 64 * 1024
"""Bodies larger than this are refused (400) unread."""


@dataclass(frozen=True, slots=True)
class CallbackResponse:
    """What to answer KryptoGO: an HTTP status and a small JSON body."""

    status: int
    body: bytes
    content_type: str = "application/json"

    def json(self) -> Any:
        """The body parsed back (for tests and logs)."""
        return json.loads(self.body)


def response(http_status: int, **fields: Any) -> CallbackResponse:
    """A JSON ``CallbackResponse`` with ``fields`` as the body."""
    return CallbackResponse(http_status, json.dumps(fields, sort_keys=True).encode())


@dataclass(frozen=True, slots=True)
class ParsedCallback:
    """A well-formed callback body: the intent it claims, and its signature if any."""

    intent: PaymentIntent
    raw: dict[str, Any]
    signature: str | None
    timestamp: int | None

    @property
    def payment_intent_id(self) -> str:
        """The intent the callback is about (to be fetched, never trusted)."""
        return self.intent.payment_intent_id


class _Rejected(CallbackRejected):
    """A refusal with the HTTP status to answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def read_callback(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str | None,
    now: int,
    window: int,
) -> ParsedCallback:
    """Authenticate (when ``secret`` is set), then parse a callback body.

    The signature is checked on the decoded JSON object before anything is validated into a
    model, so an unsigned or forged body never reaches the parser. Raises ``CallbackRejected``
    with a ``status`` attribute: 400 for a body that is not a JSON object (or, once
    authenticated, not a payment intent), 401 for a missing or wrong signature or a
    ``timestamp`` more than ``window`` seconds before or after ``now`` (both inclusive bounds
    accepted). ``headers`` are accepted for adapters' sake (the
    signature travels in the body, see ``gamepay.kryptogo.signing``).
    """
    del headers  # the signature and timestamp travel inside the body
    if not isinstance(body, bytes | bytearray) or len(body) > MAX_CALLBACK_BYTES:
        raise _Rejected("callback body missing or too large", 400)
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Rejected("callback body is not JSON", 400) from None
    if not isinstance(raw, dict):
        raise _Rejected("callback body is not a JSON object", 400)
    signature = raw.get(SIGNATURE_FIELD)
    timestamp = raw.get(TIMESTAMP_FIELD)
    if secret is not None:  # authenticate first: nothing untrusted is parsed before this
        if not isinstance(signature, str) or type(timestamp) is not int:
            raise _Rejected("callback is not signed", 401)
        if abs(now - timestamp) > window:
            raise _Rejected("callback timestamp outside the accepted window", 401)
        if not signature_matches(raw, secret):
            raise _Rejected("callback signature does not match", 401)
    fields = {k: v for k, v in raw.items() if k not in (SIGNATURE_FIELD, TIMESTAMP_FIELD)}
    try:
        intent = PaymentIntent.model_validate(fields)
    except ValidationError as exc:
        raise _Rejected(
            f"callback body is not a payment intent: {exc.error_count()} error(s)", 400
        ) from None
    return ParsedCallback(
        intent=intent,
        raw=raw,
        signature=signature if isinstance(signature, str) else None,
        timestamp=timestamp if type(timestamp) is int else None,
    )


async def handle_callback(
    ctx: PaymentsContext, body: bytes, headers: Mapping[str, str]
) -> CallbackResponse:
    """Read, authenticate, FETCH the intent from the API and apply it (``apply``).

    See the module docstring for the statuses answered. Never raises: a failure while applying
    is a 500 (nothing was half-applied: the transaction rolled back), so KryptoGO resends.
    """
    now = ctx.now()
    secret = ctx.config.secret
    try:
        parsed = read_callback(
            body,
            headers,
            secret=secret,
            now=int(now.timestamp()),
            window=ctx.config.callback_window,
        )
    except CallbackRejected as exc:
        status = int(getattr(exc, "status", 400))
        log.warning("callback refused (%d): %s", status, exc.message)
        return response(status, ok=False, error=exc.code, message=exc.message)
    intent_id = parsed.payment_intent_id
    signature = parsed.signature if secret is not None else None
    if signature is not None and await ctx.store.read(
        lambda conn: q.signature_seen(conn, signature)
    ):
        return response(200, ok=True, result="replay_ignored", payment_intent_id=intent_id)
    try:
        intent = await ctx.client.get_intent(intent_id)
    except NotFoundError:
        await record_unknown(ctx, intent_id, "callback", "not_found_at_api", body)
        return response(200, ok=True, result="unknown", payment_intent_id=intent_id)
    except KryptoGOError as exc:
        log.warning("callback for %s: cannot fetch the intent: %s", intent_id, exc)
        return response(503, ok=False, error=exc.code, message="intent could not be fetched")
    try:
        result = await apply(ctx, intent, "callback")
    except Exception as exc:  # answered 500 so KryptoGO resends; the transaction rolled back
        log.exception("callback for %s: applying failed", intent_id)
        code = exc.code if isinstance(exc, PaymentError | KryptoGOError) else "internal"
        return response(500, ok=False, error=code, message="could not apply the update")
    if signature is not None:
        await _claim_signature(ctx, signature, intent_id, parsed.timestamp or 0)
    return response(
        200,
        ok=True,
        result=str(result.outcome),
        payment_intent_id=intent_id,
        order_id=result.order_id,
        status=result.status_after,
    )


async def _claim_signature(
    ctx: PaymentsContext, signature: str, intent_id: str, timestamp: int
) -> None:
    now = ctx.now()
    with contextlib.suppress(IntegrityError):  # a concurrent copy recorded it first
        await ctx.store.run(
            lambda conn: q.claim_signature(
                conn,
                signature=signature,
                payment_intent_id=intent_id,
                timestamp=timestamp,
                now=now,
            )
        )
