"""The catalog's time-limited grants and subscription terms: parsed, refused with the item and
field named, and described by the JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gamepay.core.subscriptions import Period, Terms, next_period
from gamepay.errors import InvalidInput
from gamepay.payments.catalog import CatalogError, catalog_schema, parse_catalog

MONTH = {"period_s": 2592000, "grace_s": 259200, "offer_before_s": 259200}


def _item(**extra: Any) -> dict[str, Any]:
    """A vip item with ``extra`` fields (``grant`` replaced when given)."""
    item = {
        "sku": "vip",
        "title": "VIP",
        "price": "150",
        "currency": "TWD",
        "grant": {"kind": "item", "code": "vip", "amount": 1},
    }
    item.update(extra)
    return item


def _problems(item: dict[str, Any]) -> list[str]:
    """The problems of a catalog holding only ``item``."""
    with pytest.raises(CatalogError) as caught:
        parse_catalog(json.dumps({"items": [item]}))
    return caught.value.problems


def test_timed_grants_and_subscriptions_parse() -> None:
    """A 7-day grant and a monthly subscription read as their terms."""
    week = {"kind": "item", "code": "vip", "amount": 1, "duration_s": 604800}
    catalog = parse_catalog(
        json.dumps({"items": [_item(grant=week), _item(sku="month", subscription=MONTH)]})
    )
    assert catalog.get("vip").grant.duration_s == 604800
    terms = catalog.get("month").subscription
    assert terms is not None
    assert terms.terms == Terms(2592000, 259200, 259200)
    assert catalog.get("vip").subscription is None


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            _item(grant={"kind": "item", "code": "vip", "amount": 1, "duration_s": 0}),
            "grant.duration_s",
        ),
        (
            _item(grant={"kind": "item", "code": "vip", "amount": 1, "duration_s": 1.5}),
            "grant.duration_s",
        ),
        (_item(subscription={"period_s": 59}), "subscription.period_s"),
        (_item(subscription={"period_s": 3600, "grace_s": -1}), "subscription.grace_s"),
        (_item(subscription={"period_s": 3600, "offer_before_s": 3600}), "subscription"),
        (_item(subscription={"period_s": 3600, "extra": 1}), "subscription.extra"),
        (
            _item(
                subscription=MONTH,
                grant={"kind": "item", "code": "vip", "amount": 1, "duration_s": 60},
            ),
            "drop grant.duration_s",
        ),
        (
            _item(subscription=MONTH, balance_price={"asset_id": "currency:gold", "amount": 5}),
            "drop balance_price",
        ),
    ],
)
def test_bad_terms_are_refused_naming_the_item_and_field(
    item: dict[str, Any], expected: str
) -> None:
    """Zero or fractional durations, short periods, negative graces, offers longer than the
    period, unknown fields and subscriptions with a duration or a balance price are refused."""
    problems = _problems(item)
    assert any(p.startswith("item 'vip' (items[0])") and expected in p for p in problems), problems


def test_the_schema_describes_durations_and_subscriptions() -> None:
    """The JSON Schema has duration_s (integer seconds) and the subscription's three fields."""
    schema = catalog_schema()
    duration = schema["$defs"]["Grant"]["properties"]["duration_s"]
    [seconds] = [option for option in duration["anyOf"] if option.get("type") == "integer"]
    assert (seconds["minimum"], seconds["maximum"]) == (1, 100 * 366 * 86400)
    terms = schema["$defs"]["SubscriptionTerms"]
    assert set(terms["properties"]) == {"period_s", "grace_s", "offer_before_s"}
    assert terms["required"] == ["period_s"]
    assert terms["additionalProperties"] is False


def test_next_period_rules() -> None:
    """First at payment; on time and in grace from the end; after the grace from payment."""
    terms = Terms(period_s=100, grace_s=10, offer_before_s=5)
    t = datetime(2026, 1, 1, tzinfo=UTC)
    s = timedelta(seconds=1)
    first = next_period(None, t, terms)
    assert first == Period(0, t, t + 100 * s)
    assert next_period(first, t + 50 * s, terms) == Period(1, t + 100 * s, t + 200 * s)
    assert next_period(first, t + 109 * s, terms) == Period(1, t + 100 * s, t + 200 * s)
    assert next_period(first, t + 110 * s, terms) == Period(1, t + 110 * s, t + 210 * s)
    assert first.held(t + 109 * s, terms)
    assert not first.held(t + 110 * s, terms)
    assert first.offer_from(terms) == t + 95 * s
    for bad in ({"period_s": 59}, {"period_s": 100, "offer_before_s": 100}, {"period_s": 1.5}):
        with pytest.raises(InvalidInput):
            Terms(**bad)  # type: ignore[arg-type]
