"""Metrics hooked into a real KryptoGOClient talking to the sandbox over real HTTP."""

from __future__ import annotations

import pytest

from gamepay.errors import NotFoundError
from gamepay.metrics import Metrics
from gamepay.testing import running_sandbox
from tests.support.sandbox import client_for


async def test_client_calls_are_counted_by_operation_and_status() -> None:
    """Creates, gets and a 404 land under their operation with their HTTP status."""
    metrics = Metrics()
    async with (
        running_sandbox() as sb,
        client_for(sb, event_hooks=metrics.httpx_event_hooks(), **metrics.client_hooks()) as client,
    ):
        intent = await client.create_intent(fiat_amount="300", fiat_currency="TWD")
        await client.get_intent(intent.payment_intent_id)
        await client.get_intent(intent.payment_intent_id)
        with pytest.raises(NotFoundError):
            await client.get_intent("pi_does_not_exist")
    calls = "gamepay_kryptogo_calls_total"
    assert metrics.value(calls, {"operation": "create_intent", "status": "200"}) == 1
    assert metrics.value(calls, {"operation": "get_intent", "status": "200"}) == 2
    assert metrics.value(calls, {"operation": "get_intent", "status": "404"}) == 1
    http = "gamepay_kryptogo_requests_total"
    templated = {"method": "GET", "endpoint": "/v1/studio/api/payment/intent/{id}"}
    assert metrics.value(http, {**templated, "status": "200"}) == 2
    assert metrics.value(http, {**templated, "status": "404"}) == 1
