"""``KryptoGOClient``: the async httpx client of KryptoGO Studio's Payment API.

Calls are ``create_intent``, ``get_intent``, ``list_intents`` (an async iterator that follows
pagination and keeps the filters) and ``transfer`` (asset_pro). The envelope is unwrapped; an
error answer raises the ``gamepay.errors.APIError`` subclass ``errors_map`` picks.

Retries follow ``RetryPolicy``: GETs are retried on transport errors, 408, 429 and 5xx; a create
or a transfer is retried only when the connection was never made. When such an unsafe call may
have taken effect (a read timeout, a dropped connection, a 5xx, an unreadable success) it raises
``OutcomeUnknownError`` with ``operation`` and ``reference`` (the ``order_data["order_id"]`` of a
create, the local ``reference`` of a transfer, never sent) and never resends it: the services
resolve it by lookup.
A transfer answered ``code: 0`` was executed: odd data in it is logged, never made "unknown".

The API key is only ever put in the request header: it is masked in reprs, logs, exception
messages and the bodies kept on exceptions. Inputs are checked before anything is sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import ValidationError

from gamepay.errors import (
    APIError,
    ConfigError,
    InvalidInput,
    MalformedResponseError,
    OutcomeUnknownError,
    RateLimitError,
    RequestTimeout,
    TransportError,
)
from gamepay.kryptogo import wire
from gamepay.kryptogo.errors_map import (
    MASK,
    MAX_BODY_CHARS,
    error_for_response,
    parse_body,
    redact,
)
from gamepay.kryptogo.inputs import check_fiat_amount, check_text, check_unix
from gamepay.kryptogo.listing import IntentListing
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus
from gamepay.kryptogo.retry import Outcome, RetryPolicy, parse_retry_after
from gamepay.kryptogo.transfers import TransferRequest, TransferResult

__all__ = ["KryptoGOClient", "RequestEvent", "ResponseEvent"]

logger = logging.getLogger("gamepay.kryptogo")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport failures that happen before a single byte of the request left."""


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """Passed to ``on_request`` before each attempt (no headers: nothing secret)."""

    operation: str
    method: str
    path: str
    attempt: int


@dataclass(frozen=True, slots=True)
class ResponseEvent:
    """Passed to ``on_response`` after each attempt: the status, or the error class name."""

    operation: str
    method: str
    path: str
    attempt: int
    status: int | None
    elapsed: float
    error: str | None


class KryptoGOClient:
    """Async client of KryptoGO Studio's Payment API; use as ``async with`` or call ``aclose()``.

    ``transport`` (an ``httpx.AsyncBaseTransport``) lets the same client run in-process against
    the sandbox's ASGI app. ``jitter`` returns a float in [0, 1) for the retry backoff (default:
    ``random.random``). ``on_request``/``on_response`` receive a ``RequestEvent``/``ResponseEvent``
    per attempt, for metrics; an exception they raise is logged and ignored. ``event_hooks``
    are passed to the underlying ``httpx.AsyncClient`` as they are (async callables receiving the
    ``httpx.Request``/``httpx.Response``, e.g. ``gamepay.metrics.Metrics.httpx_event_hooks()``);
    the request they see carries the API key header, so they must not log headers. ``sleep``
    replaces ``asyncio.sleep`` between retries (tests record the delays with it).
    """

    def __init__(
        self,
        *,
        client_id: str,
        api_key: str,
        origin: str,
        base_url: str = wire.DEFAULT_BASE_URL,
        timeout: float | httpx.Timeout = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        jitter: Callable[[], float] | None = None,
        on_request: Callable[[RequestEvent], object] | None = None,
        on_response: Callable[[ResponseEvent], object] | None = None,
        sleep: Callable[[float], Any] | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> None:
        """Configure the client; nothing is sent until the first call."""
        for name, value in (("client_id", client_id), ("api_key", api_key), ("origin", origin)):
            if not isinstance(value, str) or not value or "\n" in value or "\r" in value:
                raise ConfigError(f"{name} must be a non-empty single-line string")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ConfigError("base_url must be an http(s) URL")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float | httpx.Timeout):
            raise ConfigError("timeout must be seconds or an httpx.Timeout")
        if isinstance(timeout, int | float) and not timeout > 0:
            raise ConfigError("timeout must be positive")
        self._client_id = client_id
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._retry = retry if retry is not None else RetryPolicy()
        self._jitter = jitter if jitter is not None else random.random
        self._sleep = sleep if sleep is not None else asyncio.sleep
        self._on_request = on_request
        self._on_response = on_response
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            transport=transport,
            headers={
                wire.CLIENT_ID_HEADER: client_id,
                wire.API_KEY_HEADER: api_key,
                wire.ORIGIN_HEADER: origin,
                "Accept": "application/json",
            },
            follow_redirects=False,
            event_hooks={k: list(v) for k, v in (event_hooks or {}).items()},
        )

    def __repr__(self) -> str:
        """Show where the client points, never the key."""
        return (
            f"KryptoGOClient(base_url={self._base_url!r}, client_id={self._client_id!r}, "
            f"api_key={MASK!r})"
        )

    @property
    def base_url(self) -> str:
        """The base URL calls go to."""
        return self._base_url

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        """Enter ``async with``: the client itself."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Leave ``async with``: close the pool."""
        await self.aclose()

    # -- calls -------------------------------------------------------------------------------
    async def create_intent(
        self,
        *,
        fiat_amount: str,
        fiat_currency: FiatCurrency | str,
        callback_url: str | None = None,
        order_data: Mapping[str, Any] | None = None,
        group_key: str | None = None,
    ) -> PaymentIntent:
        """Create a payment intent. Never resent once it may have reached the server.

        Raises ``InvalidInput`` before sending for bad input (``order_data`` over
        ``wire.ORDER_DATA_MAX_CHARS`` marshalled, a non-decimal or float ``fiat_amount``;
        ``AmountTooSmall`` under ``wire.MIN_FIAT_AMOUNT``),
        an ``APIError`` for a refusal, ``OutcomeUnknownError`` (reference: ``order_data``'s
        ``order_id``) when the intent may or may not exist.
        """
        body: dict[str, Any] = {
            "fiat_amount": check_fiat_amount(fiat_amount),
            "fiat_currency": self._check_currency(fiat_currency).value,
        }
        if callback_url is not None:
            url = check_text("callback_url", callback_url, max_length=2048)
            if not url.startswith(("http://", "https://")):
                raise InvalidInput("callback_url must be an http(s) URL")
            body["callback_url"] = url
        reference: str | None = None
        if order_data is not None:
            if not isinstance(order_data, Mapping):
                raise InvalidInput("order_data must be a JSON object (a mapping)")
            try:
                json.dumps(order_data, allow_nan=False)  # NaN/Infinity are not JSON
                size = wire.marshalled_length(dict(order_data))
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"order_data is not JSON-serializable: {exc}") from None
            if size > wire.ORDER_DATA_MAX_CHARS:
                raise InvalidInput(
                    f"order_data is {size} characters marshalled; "
                    f"the limit is {wire.ORDER_DATA_MAX_CHARS}"
                )
            body["order_data"] = dict(order_data)
            order_id = order_data.get("order_id")
            reference = order_id if isinstance(order_id, str) else None
        if group_key is not None:
            body["group_key"] = check_text("group_key", group_key, max_length=256)
        answer = await self._call(
            "POST",
            wire.PATH_CREATE_INTENT,
            operation="create_intent",
            safe=False,
            reference=reference,
            json=body,
        )
        return self._intent(
            answer.get("data"), operation="create_intent", safe=False, reference=reference
        )

    async def get_intent(self, payment_intent_id: str) -> PaymentIntent:
        """Fetch one payment intent; ``NotFoundError`` when the id is unknown (4006)."""
        check_text("payment_intent_id", payment_intent_id, max_length=256)
        answer = await self._call(
            "GET", wire.intent_path(payment_intent_id), operation="get_intent", safe=True
        )
        return self._intent(answer.get("data"), operation="get_intent", safe=True, reference=None)

    def list_intents(
        self,
        *,
        status: PaymentStatus | str | None = None,
        group_key: str | None = None,
        created_after: int | datetime | None = None,
        created_before: int | datetime | None = None,
        page_size: int = wire.DEFAULT_PAGE_SIZE,
        max_pages: int | None = None,
    ) -> IntentListing:
        """Iterate over every intent matching the filters, page after page.

        Arguments are checked now (``InvalidInput``); requests start on the first iteration.
        Each page request keeps the same filters; the iteration ends after an empty page, a page
        shorter than the page size the server says it served (it may cap ``page_size``), or the
        page that reaches ``total_count``. An intent seen on an earlier page (the list
        shifted while paging) is not yielded twice. At most ``max_pages`` pages are read; the
        returned ``IntentListing`` says afterwards whether it was ``truncated``. The filters
        are inferred (undocumented): a caller that depends on them matches client-side too.
        """
        params: dict[str, str | int] = {}
        if status is not None:
            try:
                params[wire.PARAM_STATUS] = PaymentStatus(status).value
            except ValueError:
                raise InvalidInput(f"unknown payment status: {str(status)[:40]!r}") from None
        if group_key is not None:
            params[wire.PARAM_GROUP_KEY] = check_text("group_key", group_key, max_length=256)
        after = check_unix("created_after", created_after)
        before = check_unix("created_before", created_before)
        if after is not None:
            params[wire.PARAM_CREATED_AFTER] = after
        if before is not None:
            params[wire.PARAM_CREATED_BEFORE] = before
        if type(page_size) is not int or not 1 <= page_size <= wire.MAX_PAGE_SIZE:
            raise InvalidInput(f"page_size must be an int in 1..{wire.MAX_PAGE_SIZE}")
        params[wire.PARAM_PAGE_SIZE] = page_size
        if max_pages is not None and (type(max_pages) is not int or max_pages < 1):
            raise InvalidInput("max_pages must be a positive int")
        listing = IntentListing()
        return listing.attach(self._pages(params, page_size, max_pages, listing))

    async def _pages(
        self,
        params: dict[str, str | int],
        page_size: int,
        max_pages: int | None,
        listing: IntentListing,
    ) -> AsyncIterator[PaymentIntent]:
        """Yield the intents of page 1, 2, ... until the list is exhausted (or the bound)."""
        seen: set[str] = set()
        page = 1
        while True:
            listing.pages = page
            answer = await self._call(
                "GET",
                wire.PATH_LIST_INTENTS,
                operation="list_intents",
                safe=True,
                params={**params, wire.PARAM_PAGE: page},
            )
            items, total, served_size = self._page(answer.get("data"))
            fresh = 0
            for item in items:
                intent = self._intent(item, operation="list_intents", safe=True, reference=None)
                if intent.payment_intent_id in seen:
                    continue
                seen.add(intent.payment_intent_id)
                fresh += 1
                yield intent
            size = served_size if served_size is not None else page_size
            if not items or len(items) < size:
                return
            if fresh == 0:  # a server that ignores ``page`` would otherwise loop forever
                logger.warning("kryptogo list page %d repeated earlier intents; stopping", page)
                listing.truncated = True
                return
            if total is not None and page * size >= total:
                return
            if max_pages is not None and page >= max_pages:
                listing.truncated = True
                return
            page += 1

    async def transfer(self, request: TransferRequest) -> TransferResult:
        """Send tokens from the organization's treasury (asset_pro). Never resent blindly.

        An answer with ``code: 0`` means executed: the result is returned even when its data is
        odd (that is logged with the raw body; see ``TransferResult.problems``).
        ``TreasuryInsufficient`` (4015, with the shortfall in base units) and other refusals
        mean nothing moved. ``OutcomeUnknownError`` (reference: ``request.reference``) only when
        there was no usable answer (timeout, dropped connection, 5xx or 2xx without a code):
        reconcile before doing anything else with it.
        """
        if not isinstance(request, TransferRequest):
            raise InvalidInput("transfer() takes a TransferRequest")
        reference = request.reference or None
        body = await self._call(
            "POST",
            wire.PATH_TRANSFER,
            operation="transfer",
            safe=False,
            reference=reference,
            json=request.to_wire(),
            code_zero_is_done=True,
            decimals=request.decimals,
        )
        result = TransferResult.read(body.get("data"))
        if result.problems:
            logger.warning(
                "kryptogo transfer executed (code 0) but its answer is odd (%s); raw body: %s",
                "; ".join(result.problems),
                self._raw(body),
            )
        return result

    # -- plumbing ------------------------------------------------------------------------------
    def _raw(self, body: Any) -> str:
        """``body`` as compact JSON for a log line: the key masked, truncated."""
        try:
            text = json.dumps(redact(body, (self._api_key,)), separators=(",", ":"))
        except (TypeError, ValueError):
            text = repr(body)
        return text[:MAX_BODY_CHARS]

    @staticmethod
    def _check_currency(value: object) -> FiatCurrency:
        """Return the FiatCurrency for ``value`` or raise InvalidInput."""
        try:
            return FiatCurrency(value) if isinstance(value, str) else FiatCurrency(str(value))
        except ValueError:
            raise InvalidInput(
                f"fiat_currency must be one of {[c.value for c in FiatCurrency]}"
            ) from None

    def _intent(
        self, data: Any, *, operation: str, safe: bool, reference: str | None
    ) -> PaymentIntent:
        """Parse an intent from answer data; an unreadable one is a typed error."""
        try:
            if not isinstance(data, dict):
                raise TypeError("data is not an object")
            return PaymentIntent.model_validate(data)
        except (ValidationError, TypeError) as exc:
            if not safe:
                raise OutcomeUnknownError(
                    f"{operation} answered with an unreadable intent; it may exist",
                    operation=operation,
                    reference=reference,
                ) from None
            raise MalformedResponseError(
                f"{operation}: the answer's data is not a payment intent ({type(exc).__name__})",
                status=200,
                body=redact(data, (self._api_key,)),
            ) from None

    def _page(self, data: Any) -> tuple[list[Any], int | None, int | None]:
        """Pick the intents, total count and served page size out of a list answer's data."""
        items = data.get(wire.LIST_DATA_INTENTS) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise MalformedResponseError(
                f"list_intents: the answer's data has no {wire.LIST_DATA_INTENTS!r} list",
                status=200,
                body=redact(data, (self._api_key,)),
            )
        total = data.get(wire.LIST_DATA_TOTAL_COUNT)
        size = data.get(wire.LIST_DATA_PAGE_SIZE)
        return (
            items,
            total if type(total) is int else None,
            size if type(size) is int and size > 0 else None,
        )

    def _emit(self, hook: Callable[[Any], object] | None, event: object) -> None:
        """Call an instrumentation hook; its failure must never break a payment call."""
        if hook is None:
            return
        try:
            hook(event)
        except Exception:
            logger.exception("kryptogo instrumentation hook failed")

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        safe: bool,
        reference: str | None = None,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        code_zero_is_done: bool = False,
        decimals: int | None = None,
    ) -> dict[str, Any]:
        """Send one logical call with retries; return the whole success body (its ``data`` inside).

        Success is a 2xx envelope with code 0; with ``code_zero_is_done`` any JSON object whose
        ``code`` is 0 is one, whatever its status or data (a transfer's "executed").
        ``decimals`` is passed to ``error_for_response`` (a 4015 shortfall's base units).
        """
        attempt = 0
        while True:
            attempt += 1
            self._emit(self._on_request, RequestEvent(operation, method, path, attempt))
            started = time.monotonic()
            try:
                response = await self._http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                elapsed = time.monotonic() - started
                sent = not isinstance(exc, _NOT_SENT)
                self._emit(
                    self._on_response,
                    ResponseEvent(
                        operation, method, path, attempt, None, elapsed, type(exc).__name__
                    ),
                )
                outcome = Outcome(status=None, sent=sent)
                delay = self._retry.decide(attempt, outcome, safe=safe, jitter=self._jitter())
                logger.warning(
                    "kryptogo %s %s attempt %d: %s (sent=%s) after %.3fs; %s",
                    method,
                    path,
                    attempt,
                    type(exc).__name__,
                    sent,
                    elapsed,
                    "giving up" if delay is None else f"retrying in {delay:.3f}s",
                )
                if delay is not None:
                    await self._sleep(delay)
                    continue
                raise self._transport_failure(exc, operation, safe, sent, reference) from exc
            elapsed = time.monotonic() - started
            status = response.status_code
            body, is_envelope = parse_body(response.content)
            code_zero = isinstance(body, dict) and body.get("code") == wire.CODE_OK
            code_zero = code_zero and type(body["code"]) is int
            ok = code_zero and (code_zero_is_done or (200 <= status < 300 and is_envelope))
            self._emit(
                self._on_response,
                ResponseEvent(
                    operation,
                    method,
                    path,
                    attempt,
                    status,
                    elapsed,
                    None if ok else "api_error",
                ),
            )
            if ok:
                logger.debug("kryptogo %s %s -> %d in %.3fs", method, path, status, elapsed)
                if not 200 <= status < 300:
                    logger.warning(
                        "kryptogo %s %s -> HTTP %d with code 0: taken as done; raw body: %s",
                        method,
                        path,
                        status,
                        self._raw(body),
                    )
                success: dict[str, Any] = body
                return success
            request_id = next(
                (response.headers[h] for h in wire.REQUEST_ID_HEADERS if h in response.headers),
                None,
            )
            error = error_for_response(
                status,
                body,
                is_envelope=is_envelope,
                request_id=request_id,
                secrets=(self._api_key,),
                decimals=decimals,
            )
            retry_after = parse_retry_after(response.headers.get("Retry-After"), time.time())
            if isinstance(error, RateLimitError):
                error.retry_after = retry_after
            outcome = Outcome(status=status, sent=True, retry_after=retry_after)
            delay = self._retry.decide(attempt, outcome, safe=safe, jitter=self._jitter())
            logger.warning(
                "kryptogo %s %s attempt %d -> HTTP %d api_code=%s after %.3fs; %s",
                method,
                path,
                attempt,
                status,
                error.api_code,
                elapsed,
                "giving up" if delay is None else f"retrying in {delay:.3f}s",
            )
            if delay is not None:
                await self._sleep(delay)
                continue
            if not safe and self._maybe_done(error):
                raise OutcomeUnknownError(
                    f"{operation} failed after reaching the server ({error.message}); "
                    "it may have taken effect",
                    operation=operation,
                    reference=reference,
                ) from error
            raise error

    @staticmethod
    def _maybe_done(error: APIError) -> bool:
        """Whether an unsafe call that got ``error`` may still have taken effect on the server.

        A 4xx (and a 4xxx code) is a definite refusal; a 5xx, or a 2xx we cannot read, is not.
        """
        if isinstance(error, MalformedResponseError):
            return True
        if error.api_code is not None and 4000 <= error.api_code < 5000:
            return False
        status = error.status or 0
        return status >= 500 or (200 <= status < 300)

    def _transport_failure(
        self,
        exc: httpx.TransportError,
        operation: str,
        safe: bool,
        sent: bool,
        reference: str | None,
    ) -> Exception:
        """Translate an httpx transport failure into gamepay's error (key-free message)."""
        what = redact(f"{type(exc).__name__}: {exc}", (self._api_key,))
        if sent and not safe:
            return OutcomeUnknownError(
                f"{operation}: {what}; the request may have reached the server",
                operation=operation,
                reference=reference,
            )
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeout(f"{operation}: no answer in time ({what})")
        return TransportError(f"{operation}: no usable answer ({what})")
