"""The sandbox's ASGI app (Starlette): the four KryptoGO endpoints and the control API.

KryptoGO endpoints check ``X-Client-ID`` (4001), ``X-STUDIO-API-KEY`` (4002) and ``Origin``
(4000 when missing), in that order, then answer ``{"code": 0, "data": ...}`` or
``{"code": N, "message": "...", "data": null}`` with the HTTP status of ``codes.HTTP_STATUS``.
Request bodies are checked as documented: a JSON object, amounts as decimal strings (a JSON
number, float or int, is refused), ``fiat_amount`` at least ``0.01``, ``order_data`` at most 1000
characters as compact JSON (``separators=(",", ":")``, non-ASCII kept); a transfer is exactly
the four required strings. Unknown extra fields are ignored, or refused (4000) when
``SandboxConfig.strict`` is on. A transfer answers ``{"id", "tx_hash", "transfer_time"}``; a
treasury short of the amount answers 4015 "Balance not enough" with ``data.insufficient_amount``.
Unknown paths answer 4040, wrong methods 4050, both in the same envelope.

The control API (no KryptoGO auth; refused with 4030 unless the caller is on loopback) mirrors
the ``Sandbox`` Python methods; its answers use the same envelope. Routes::

    GET  /_sandbox/health                    seed, clock, counts
    GET  /_sandbox/intents                   every intent (wire form)
    GET  /_sandbox/intents/{id}              one intent plus its payments and status history
    POST /_sandbox/intents/{id}/pay          {"mode": "exact"|"short"|"excess", "amount": "1.5",
                                              "late": false, "final": true}
    POST /_sandbox/intents/{id}/expire
    POST /_sandbox/intents/{id}/refund       {"amount": "1.5"} (optional)
    GET  /_sandbox/clock    POST /_sandbox/clock/advance {"seconds": 900}
    POST /_sandbox/sweep                     expire what is past its deadline
    GET  /_sandbox/treasury POST /_sandbox/treasury/fund {"chain_id", "token", "amount"}
    GET  /_sandbox/transfers                 the executed-transfer record (and as export rows)
    GET  /_sandbox/callbacks                 the delivery log
    POST /_sandbox/callbacks/flush           {"timeout": 10}
    GET  /_sandbox/faults   PUT /_sandbox/faults  (a ``Faults`` JSON object)
    POST /_sandbox/faults/arm                {"operation": "create"|"transfer",
                                              "mode": "hang"|"504"}
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from fractions import Fraction
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from gamepay.errors import SandboxError
from gamepay.kryptogo import wire
from gamepay.kryptogo.models import FiatCurrency, PaymentStatus
from gamepay.sandbox.codes import (
    CONFLICT,
    FORBIDDEN,
    HTTP_STATUS,
    INVALID_API_KEY,
    INVALID_CLIENT_ID,
    INVALID_REQUEST,
    METHOD_NOT_ALLOWED,
    RATE_LIMITED,
    ROUTE_NOT_FOUND,
    SERVER_ERROR,
)
from gamepay.sandbox.emulator import Sandbox
from gamepay.sandbox.faults import Faults, Operation

__all__ = [
    "HEADER_API_KEY",
    "HEADER_CLIENT_ID",
    "HEADER_ORIGIN",
    "MAX_BODY_BYTES",
    "MAX_ORDER_DATA_CHARS",
    "MAX_PAGE_SIZE",
    "PATH_INTENT",
    "PATH_INTENTS",
    "PATH_TRANSFER",
    "create_app",
]

PATH_INTENT = wire.PATH_CREATE_INTENT
PATH_INTENTS = wire.PATH_LIST_INTENTS
PATH_TRANSFER = wire.PATH_TRANSFER
HEADER_CLIENT_ID = wire.CLIENT_ID_HEADER
HEADER_API_KEY = wire.API_KEY_HEADER
HEADER_ORIGIN = wire.ORIGIN_HEADER
MAX_ORDER_DATA_CHARS = wire.ORDER_DATA_MAX_CHARS
MAX_PAGE_SIZE = wire.MAX_PAGE_SIZE
DEFAULT_PAGE_SIZE = wire.DEFAULT_PAGE_SIZE
MAX_BODY_BYTES = 64 * 1024
MAX_FIAT_CHARS = 40
MAX_GROUP_KEY_CHARS = 256
MAX_URL_CHARS = 2048

_FIAT = re.compile(r"[0-9]+(\.[0-9]+)?")
_UINT = re.compile(r"[0-9]{1,15}")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")
_GATEWAY_TIMEOUT_PAGE = (
    "<html><head><title>504 Gateway Time-out</title></head>"
    "<body><center><h1>504 Gateway Time-out</h1></center></body></html>"
)
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})


def _envelope(data: Any) -> JSONResponse:
    return JSONResponse(wire.ok_body(data))


def _error(code: int, message: str, status: int | None = None, data: Any = None) -> JSONResponse:
    http = status if status is not None else HTTP_STATUS.get(code, 400)
    body = wire.error_body(code, message)
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=http)


def _bad(message: str) -> SandboxError:
    return SandboxError(message, api_code=INVALID_REQUEST, http_status=400)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise _bad(f"request body is larger than {MAX_BODY_BYTES} bytes")
    if allow_empty and not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _bad("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad("request body must be a JSON object")
    return body


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "value"


def _optional_str(body: dict[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string, not {_type_name(value)}")
    if len(value) > limit:
        raise _bad(f"{name} is longer than {limit} characters")
    return value


def _no_extra(body: dict[str, Any], allowed: tuple[str, ...], strict: bool) -> None:
    """Under ``strict``, refuse any field the API does not document (named in the message)."""
    extra = sorted(str(name) for name in body if name not in allowed)
    if strict and extra:
        shown = ", ".join(name[:40] for name in extra[:5])
        raise _bad(f"unknown field(s) in strict mode: {shown}")


def _create_fields(body: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """Validate a create request body; return the keyword arguments of ``create_intent``."""
    _no_extra(body, wire.CREATE_FIELDS, strict)
    if "fiat_amount" not in body:
        raise _bad("fiat_amount is required")
    fiat = body["fiat_amount"]
    if not isinstance(fiat, str):
        raise _bad(f"fiat_amount must be a decimal string, not {_type_name(fiat)}")
    if len(fiat) > MAX_FIAT_CHARS or _FIAT.fullmatch(fiat) is None:
        raise _bad(f"fiat_amount is not a plain decimal string: {fiat[:MAX_FIAT_CHARS]!r}")
    if Fraction(fiat) < Fraction(wire.MIN_FIAT_AMOUNT):
        raise _bad(f"fiat_amount must be at least {wire.MIN_FIAT_AMOUNT}")
    if "fiat_currency" not in body:
        raise _bad("fiat_currency is required")
    currency = body["fiat_currency"]
    if not isinstance(currency, str) or currency not in FiatCurrency.__members__.values():
        allowed = ", ".join(c.value for c in FiatCurrency)
        raise _bad(f"fiat_currency must be one of {allowed}")
    callback_url = _optional_str(body, "callback_url", MAX_URL_CHARS)
    if callback_url is not None and _URL.fullmatch(callback_url) is None:
        raise _bad("callback_url must be an absolute http(s) URL")
    order_data = body.get("order_data")
    if order_data is not None:
        if not isinstance(order_data, dict):
            raise _bad(f"order_data must be an object, not {_type_name(order_data)}")
        length = wire.marshalled_length(order_data)
        if length > MAX_ORDER_DATA_CHARS:
            raise _bad(
                f"order_data is {length} characters when marshalled; "
                f"the limit is {MAX_ORDER_DATA_CHARS}"
            )
    group_key = _optional_str(body, "group_key", MAX_GROUP_KEY_CHARS)
    return {
        "fiat_amount": fiat,
        "fiat_currency": FiatCurrency(currency),
        "callback_url": callback_url,
        "order_data": order_data,
        "group_key": group_key,
    }


def _transfer_fields(body: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """Validate a transfer request as the four required strings; the sandbox checks the values."""
    _no_extra(body, wire.TRANSFER_REQUEST_FIELDS, strict)
    fields: dict[str, Any] = {}
    for name in wire.TRANSFER_REQUEST_FIELDS:
        if name not in body or body[name] is None:
            raise _bad(f"{name} is required")
        value = body[name]
        if not isinstance(value, str):
            kind = "a decimal string" if name == "amount" else "a string"
            raise _bad(f"{name} must be {kind}, not {_type_name(value)}")
        fields[name] = value
    return {
        "chain_id": fields[wire.TRANSFER_CHAIN_ID],
        "contract_address": fields[wire.TRANSFER_CONTRACT_ADDRESS],
        "amount": fields[wire.TRANSFER_AMOUNT],
        "wallet_address": fields[wire.TRANSFER_WALLET_ADDRESS],
    }


def _query_uint(request: Request, name: str, *, low: int, high: int | None = None) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return None
    if _UINT.fullmatch(text) is None:
        raise _bad(f"{name} must be a non-negative integer")
    value = int(text)
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise _bad(f"{name} must be in {bound}")
    return value


def create_app(sandbox: Sandbox, *, manage_lifecycle: bool = True) -> Starlette:
    """Build the ASGI app serving ``sandbox``.

    With ``manage_lifecycle`` the ASGI lifespan starts and closes the sandbox's background work
    (callback worker, expiry ticker); a caller that runs them itself passes False.
    """
    config = sandbox.config

    def check_auth(request: Request) -> None:
        client_id = request.headers.get(HEADER_CLIENT_ID, "")
        if not hmac.compare_digest(client_id.encode(), config.client_id.encode()):
            raise SandboxError("invalid client id", api_code=INVALID_CLIENT_ID, http_status=401)
        key = request.headers.get(HEADER_API_KEY, "")
        if not hmac.compare_digest(key.encode(), config.api_key.get_secret_value().encode()):
            raise SandboxError("invalid API key", api_code=INVALID_API_KEY, http_status=401)
        if not request.headers.get(HEADER_ORIGIN, "").strip():
            raise _bad("Origin header is required")

    def api(
        operation: Operation, handler: Callable[[Request], Awaitable[Any]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            fault = sandbox.plan.for_api(operation)
            if fault.latency > 0:
                await sandbox.hang(fault.latency)
            try:
                check_auth(request)
                if fault.error_status is not None:
                    code = RATE_LIMITED if fault.error_status == 429 else SERVER_ERROR
                    return _error(code, "injected fault", fault.error_status)
                data = await handler(request)
            except SandboxError as exc:
                data = getattr(exc, "data", None)
                return _error(exc.api_code, exc.message, exc.http_status, data)
            timeout = sandbox.plan.take_armed(operation) or fault.timeout_after_commit
            if timeout == "504":
                return PlainTextResponse(_GATEWAY_TIMEOUT_PAGE, 504, media_type="text/html")
            if timeout == "hang":
                await sandbox.hang(sandbox.plan.faults.hang_seconds)
            return _envelope(data)

        return endpoint

    async def create(request: Request) -> Any:
        fields = _create_fields(await _json_object(request), strict=config.strict)
        return sandbox.create_intent(**fields).to_wire()

    async def get(request: Request) -> Any:
        return sandbox.get_intent(request.path_params["payment_intent_id"]).to_wire()

    async def list_(request: Request) -> Any:
        query = request.query_params
        status_text = query.get(wire.PARAM_STATUS) or None
        status = None
        if status_text is not None:
            try:
                status = PaymentStatus(status_text)
            except ValueError:
                raise _bad(f"unknown status: {status_text[:40]!r}") from None
        page = _query_uint(request, wire.PARAM_PAGE, low=1) or 1
        asked = _query_uint(request, wire.PARAM_PAGE_SIZE, low=1) or DEFAULT_PAGE_SIZE
        page_size = min(asked, MAX_PAGE_SIZE)
        if config.list_ignores_filters:  # it pages its own way and says so
            page_size = config.list_page_size
        items, total = sandbox.list_intents(
            status=status,
            group_key=query.get(wire.PARAM_GROUP_KEY) or None,
            created_after=_query_uint(request, wire.PARAM_CREATED_AFTER, low=0),
            created_before=_query_uint(request, wire.PARAM_CREATED_BEFORE, low=0),
            page=page,
            page_size=page_size,
        )
        return {
            wire.LIST_DATA_INTENTS: [intent.to_wire() for intent in items],
            wire.LIST_DATA_PAGE: page,
            wire.LIST_DATA_PAGE_SIZE: page_size,
            wire.LIST_DATA_TOTAL_COUNT: total,
        }

    async def transfer(request: Request) -> Any:
        body = await _json_object(request)
        record = sandbox.transfer(**_transfer_fields(body, strict=config.strict))
        return {
            wire.TRANSFER_ID: record.transfer_id,
            wire.TRANSFER_TX_HASH: record.tx_hash,
            wire.TRANSFER_TIME: record.executed_at,
        }

    # -- control API ---------------------------------------------------------------------------

    def control(
        handler: Callable[[Request], Awaitable[Any]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            host = request.client.host if request.client is not None else "127.0.0.1"
            if host not in _LOOPBACK and not host.startswith("127."):
                return _error(FORBIDDEN, "the control API answers loopback callers only")
            try:
                return _envelope(await handler(request))
            except SandboxError as exc:
                return _error(exc.api_code, exc.message, exc.http_status)
            except ValidationError as exc:
                return _error(INVALID_REQUEST, str(exc.errors(include_url=False)))

        return endpoint

    def intent_id(request: Request) -> str:
        return str(request.path_params["payment_intent_id"])

    async def health(request: Request) -> Any:
        return {
            "seed": sandbox.seed,
            "now": sandbox.now(),
            "client_id": config.client_id,
            "intents": len(sandbox.intents()),
            "transfers": len(sandbox.transfers),
        }

    async def all_intents(request: Request) -> Any:
        return [intent.to_wire() for intent in sandbox.intents()]

    async def one_intent(request: Request) -> Any:
        raw = sandbox.get_intent(intent_id(request))
        data = raw.to_wire()
        data["_history"] = [status.value for status in raw.history]
        data["_payments"] = [
            {
                "amount": str(payment.amount),
                "tx_hash": payment.tx_hash,
                "payer_address": payment.payer_address,
                "at": payment.at,
                "late": payment.late,
            }
            for payment in raw.payments
        ]
        return data

    async def pay(request: Request) -> Any:
        body = await _json_object(request, allow_empty=True)
        mode = body.get("mode", "exact")
        amount = body.get("amount")
        late, final = body.get("late", False), body.get("final", True)
        if not isinstance(late, bool) or not isinstance(final, bool):
            raise _bad("late and final must be booleans")
        if amount is not None:
            if not isinstance(amount, str):
                raise _bad("amount must be a decimal string")
            how: Any = amount
        elif mode in ("exact", "short", "excess"):
            how = mode
        else:
            raise _bad("mode must be exact, short or excess (or give an amount)")
        return sandbox.pay(intent_id(request), how, late=late, final=final).to_wire()

    async def expire(request: Request) -> Any:
        return sandbox.expire(intent_id(request)).to_wire()

    async def refund(request: Request) -> Any:
        body = await _json_object(request, allow_empty=True)
        amount = body.get("amount")
        if amount is not None and not isinstance(amount, str):
            raise _bad("amount must be a decimal string")
        return sandbox.refund(intent_id(request), amount).to_wire()

    async def clock(request: Request) -> Any:
        return {"now": sandbox.now(), "frozen": sandbox.clock.frozen}

    async def advance(request: Request) -> Any:
        seconds = (await _json_object(request)).get("seconds")
        if type(seconds) is not int or seconds < 0:
            raise _bad("seconds must be a non-negative integer")
        before = {i.payment_intent_id for i in sandbox.intents() if i.status == "pending"}
        now = sandbox.advance(seconds)
        after = {i.payment_intent_id for i in sandbox.intents() if i.status == "pending"}
        return {"now": now, "closed": sorted(before - after)}

    async def sweep(request: Request) -> Any:
        return {"closed": sandbox.sweep()}

    async def treasury(request: Request) -> Any:
        return [
            {"chain_id": chain_id, "contract_address": address, "balance": str(units)}
            for (chain_id, address), units in sorted(sandbox.treasury.balances().items())
        ]

    async def fund(request: Request) -> Any:
        body = await _json_object(request)
        chain_id, token, amount = body.get("chain_id"), body.get("token"), body.get("amount")
        if not isinstance(amount, str):
            raise _bad("amount must be a decimal string")
        if not isinstance(chain_id, str) or not isinstance(token, str):
            raise _bad("chain_id and token must be strings")
        balance = sandbox.fund(chain_id, token, amount)
        return {"chain_id": chain_id, "token": token, "balance_units": str(balance)}

    async def transfers(request: Request) -> Any:
        return {
            "count": len(sandbox.transfers),
            "transfers": [record.to_json() for record in sandbox.transfers.records()],
            "export": sandbox.transfers.export_rows(),
        }

    async def callbacks(request: Request) -> Any:
        return {
            "pending": sandbox.callbacks.pending,
            "log": [attempt.to_json() for attempt in sandbox.callback_log],
        }

    async def flush(request: Request) -> Any:
        body = await _json_object(request, allow_empty=True)
        timeout = body.get("timeout", 10)
        if type(timeout) not in (int, float) or not 0 < timeout <= 300:
            raise _bad("timeout must be a number of seconds in (0, 300]")
        try:
            await sandbox.flush_callbacks(float(timeout))
        except TimeoutError:
            raise SandboxError(
                "callbacks still pending", api_code=CONFLICT, http_status=409
            ) from None
        return {"pending": sandbox.callbacks.pending}

    async def get_faults(request: Request) -> Any:
        return {"faults": sandbox.faults.model_dump(mode="json"), "armed": sandbox.plan.armed()}

    async def put_faults(request: Request) -> Any:
        sandbox.set_faults(Faults.model_validate(await _json_object(request)))
        return await get_faults(request)

    async def arm(request: Request) -> Any:
        body = await _json_object(request)
        operation, mode = body.get("operation"), body.get("mode", "hang")
        if operation not in ("create", "transfer") or mode not in ("hang", "504"):
            raise _bad("operation must be create or transfer; mode hang or 504")
        sandbox.arm_timeout_after_commit(operation, mode)
        return await get_faults(request)

    c = "/_sandbox"
    one = c + "/intents/{payment_intent_id}"
    routes = [
        Route(PATH_INTENT, api("create", create), methods=["POST"]),
        Route(PATH_INTENT + "/{payment_intent_id}", api("get", get), methods=["GET"]),
        Route(PATH_INTENTS, api("list", list_), methods=["GET"]),
        Route(PATH_TRANSFER, api("transfer", transfer), methods=["POST"]),
        Route(c + "/health", control(health), methods=["GET"]),
        Route(c + "/intents", control(all_intents), methods=["GET"]),
        Route(one, control(one_intent), methods=["GET"]),
        Route(one + "/pay", control(pay), methods=["POST"]),
        Route(one + "/expire", control(expire), methods=["POST"]),
        Route(one + "/refund", control(refund), methods=["POST"]),
        Route(c + "/clock", control(clock), methods=["GET"]),
        Route(c + "/clock/advance", control(advance), methods=["POST"]),
        Route(c + "/sweep", control(sweep), methods=["POST"]),
        Route(c + "/treasury", control(treasury), methods=["GET"]),
        Route(c + "/treasury/fund", control(fund), methods=["POST"]),
        Route(c + "/transfers", control(transfers), methods=["GET"]),
        Route(c + "/callbacks", control(callbacks), methods=["GET"]),
        Route(c + "/callbacks/flush", control(flush), methods=["POST"]),
        Route(c + "/faults", control(get_faults), methods=["GET"]),
        Route(c + "/faults", control(put_faults), methods=["PUT", "POST"]),
        Route(c + "/faults/arm", control(arm), methods=["POST"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            return _error(METHOD_NOT_ALLOWED, "method not allowed", 405)
        if status == 404:
            return _error(ROUTE_NOT_FOUND, f"no route {request.url.path[:200]}", 404)
        return _error(SERVER_ERROR, "internal error", 500)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_lifecycle:
            await sandbox.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await sandbox.aclose()

    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
