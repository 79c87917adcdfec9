"""A tiny real KryptoGO-speaking HTTP app for client tests, with scripted faults.

It speaks the documented envelope, paths, headers and codes (from ``gamepay.kryptogo.wire``),
keeps intents and transfers in memory, records every request it received, and can be told to
answer the next requests to a path with a fault: an error status, latency, an HTML page, bad
JSON, or "do the work, then answer too late" (the unknown-outcome case). It is served by real
uvicorn on 127.0.0.1 port 0 (``serve``); it is not the sandbox, only the client's test peer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gamepay.kryptogo import wire
from gamepay.testing import intent_payload

__all__ = ["API_KEY", "CLIENT_ID", "Fault", "Stub", "serve", "silent_port"]

CLIENT_ID = "stub-client"
API_KEY = "sk_stub_0123456789abcdef_SECRET"
USDT = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
PAY_TO = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"


@dataclass
class Fault:
    """How to answer one request: ``kind`` is status, delay, html, badjson, late or echo_key."""

    kind: str
    status: int = 500
    code: int | None = None
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """One request the stub received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


class Stub:
    """The app and its state; ``app`` is the ASGI application."""

    def __init__(self) -> None:
        """Start empty."""
        self.intents: dict[str, dict[str, Any]] = {}
        self.transfers: list[dict[str, Any]] = []
        self.seen: list[Seen] = []
        self.faults: dict[str, list[Fault]] = {}
        self.clock = 1_760_000_000
        self.max_page_size = wire.MAX_PAGE_SIZE
        self.ignore_page = False
        self.app = Starlette(
            routes=[
                Route(wire.PATH_CREATE_INTENT, self.create, methods=["POST"]),
                Route(wire.PATH_GET_INTENT, self.get, methods=["GET"]),
                Route(wire.PATH_LIST_INTENTS, self.list, methods=["GET"]),
                Route(wire.PATH_TRANSFER, self.transfer, methods=["POST"]),
            ]
        )

    def fail(self, path: str, *faults: Fault) -> None:
        """Answer the next requests to ``path`` (a route path) with ``faults``, in order."""
        self.faults.setdefault(path, []).extend(faults)

    def count(self, method: str, path_prefix: str) -> int:
        """How many requests with ``method`` whose path starts with ``path_prefix`` arrived."""
        return sum(1 for s in self.seen if s.method == method and s.path.startswith(path_prefix))

    def add_intent(self, **fields: Any) -> dict[str, Any]:
        """Store an intent directly (for list tests) and return it."""
        self.clock += 1
        intent_id = f"pi_{len(self.intents) + 1:05d}"
        intent = intent_payload(
            payment_intent_id=intent_id,
            payment_address=PAY_TO,
            token_address=USDT,
            payment_deadline=self.clock + 900,
            payment_tx_hash=None,
            received_amount=None,
            aggregated_amount=None,
            refund_amount=None,
            refund_tx_hash=None,
            callback_url=None,
            order_data=None,
            group_key=None,
            client_id=CLIENT_ID,
            org_id=1,
            created_at=self.clock,
        )
        intent.update(fields)
        self.intents[intent_id] = intent
        return intent

    # -- plumbing --------------------------------------------------------------------------
    @staticmethod
    def _error(code: int, message: str | None = None) -> JSONResponse:
        return JSONResponse(wire.error_body(code, message), status_code=wire.status_for_code(code))

    async def _begin(self, request: Request, route: str) -> tuple[Response | None, Fault | None]:
        """Record the request, check auth, pop a scripted fault; an early answer if any."""
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.seen.append(Seen(request.method, request.url.path, dict(request.query_params), body))
        if request.headers.get(wire.CLIENT_ID_HEADER) != CLIENT_ID:
            return self._error(wire.CODE_INVALID_CLIENT_ID), None
        if request.headers.get(wire.API_KEY_HEADER) != API_KEY:
            return self._error(wire.CODE_INVALID_API_KEY), None
        if not request.headers.get(wire.ORIGIN_HEADER):
            return self._error(wire.CODE_BAD_REQUEST, "Origin header is required"), None
        queue = self.faults.get(route)
        fault = queue.pop(0) if queue else None
        if fault is None:
            return None, None
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            return None, None
        if fault.kind == "status":
            code = fault.code if fault.code is not None else wire.CODE_SERVER_FAULT
            return JSONResponse(
                wire.error_body(code), status_code=fault.status, headers=fault.headers
            ), None
        if fault.kind == "html":
            page = "<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
            return Response(page, status_code=fault.status, media_type="text/html"), None
        if fault.kind == "badjson":
            return Response('{"code": 0, "data": {', media_type="application/json"), None
        if fault.kind == "echo_key":
            message = f"bad request from key {request.headers.get(wire.API_KEY_HEADER)}"
            return self._error(wire.CODE_BAD_REQUEST, message), None
        return None, fault  # "late": do the work, then answer after fault.seconds

    @staticmethod
    async def _finish(fault: Fault | None, data: Any) -> Response:
        if fault is not None and fault.kind == "late":
            await asyncio.sleep(fault.seconds)
        return JSONResponse(wire.ok_body(data))

    # -- endpoints -------------------------------------------------------------------------
    async def create(self, request: Request) -> Response:
        """POST intent."""
        early, fault = await self._begin(request, wire.PATH_CREATE_INTENT)
        if early is not None:
            return early
        body = self.seen[-1].body
        if not isinstance(body, dict) or not isinstance(body.get("fiat_amount"), str):
            return self._error(wire.CODE_BAD_REQUEST, "fiat_amount is required")
        if body.get("fiat_currency") not in ("TWD", "USD"):
            return self._error(wire.CODE_BAD_REQUEST, "fiat_currency must be TWD or USD")
        order_data = body.get("order_data")
        if order_data is not None and wire.marshalled_length(order_data) > 1000:
            return self._error(wire.CODE_BAD_REQUEST, "order_data too long")
        intent = self.add_intent(
            fiat_amount=body["fiat_amount"],
            fiat_currency=body["fiat_currency"],
            callback_url=body.get("callback_url"),
            order_data=order_data,
            group_key=body.get("group_key"),
        )
        return await self._finish(fault, intent)

    async def get(self, request: Request) -> Response:
        """GET intent/{id}."""
        early, fault = await self._begin(request, wire.PATH_GET_INTENT)
        if early is not None:
            return early
        intent = self.intents.get(request.path_params["payment_intent_id"])
        if intent is None:
            return self._error(wire.CODE_INVALID_PAYMENT_INTENT_ID)
        return await self._finish(fault, intent)

    async def list(self, request: Request) -> Response:
        """GET intents: filters and pages, oldest first."""
        early, fault = await self._begin(request, wire.PATH_LIST_INTENTS)
        if early is not None:
            return early
        q = request.query_params
        try:
            page = int(q.get(wire.PARAM_PAGE, "1"))
            size = min(self.max_page_size, int(q.get(wire.PARAM_PAGE_SIZE, "50")))
            page = 1 if self.ignore_page else page
            after = int(q[wire.PARAM_CREATED_AFTER]) if wire.PARAM_CREATED_AFTER in q else None
            before = int(q[wire.PARAM_CREATED_BEFORE]) if wire.PARAM_CREATED_BEFORE in q else None
        except ValueError:
            return self._error(wire.CODE_BAD_REQUEST, "bad query")
        rows = [
            i
            for i in self.intents.values()
            if (wire.PARAM_STATUS not in q or i["status"] == q[wire.PARAM_STATUS])
            and (wire.PARAM_GROUP_KEY not in q or i["group_key"] == q[wire.PARAM_GROUP_KEY])
            and (after is None or i["created_at"] >= after)
            and (before is None or i["created_at"] < before)
        ]
        data = {
            wire.LIST_DATA_INTENTS: rows[(page - 1) * size : page * size],
            wire.LIST_DATA_PAGE: page,
            wire.LIST_DATA_PAGE_SIZE: size,
            wire.LIST_DATA_TOTAL_COUNT: len(rows),
        }
        return await self._finish(fault, data)

    async def transfer(self, request: Request) -> Response:
        """POST asset_pro transfer: record it once per request."""
        early, fault = await self._begin(request, wire.PATH_TRANSFER)
        if early is not None:
            return early
        body = self.seen[-1].body
        if not isinstance(body, dict) or set(body) != set(wire.TRANSFER_REQUEST_FIELDS):
            return self._error(wire.CODE_BAD_REQUEST, "bad transfer")
        record = {  # the documented answer
            wire.TRANSFER_ID: f"1-1627380000-{len(self.transfers) + 1}",
            wire.TRANSFER_TX_HASH: "0x" + f"{len(self.transfers) + 1:064x}",
            wire.TRANSFER_TIME: 1627380000,
        }
        self.transfers.append({**body, **record})
        return await self._finish(fault, record)


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` with real uvicorn on 127.0.0.1, port 0; yield its base URL; stop it."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before starting")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True
        await task


@asynccontextmanager
async def silent_port(mode: str) -> AsyncIterator[tuple[str, list[int]]]:
    """A raw TCP server that reads a request and then misbehaves; yields (base URL, hit counter).

    ``mode`` "drop": close the connection without answering; "garbage": answer bytes that are
    not HTTP.
    """
    hits = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            hits[0] += 1
            if mode == "garbage":
                writer.write(b"SPLORK\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", hits
    finally:
        server.close()
        await server.wait_closed()
