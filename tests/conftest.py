"""Shared fixtures: hypothesis profiles and one database per test on each backend."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from gamepay.testing import fresh_postgres_database, sqlite_url

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

PG_URL = os.environ.get("GAMEPAY_TEST_POSTGRES_URL")
"""The PostgreSQL server tests run on; .ci/run always sets it."""

NATS_URL = os.environ.get("GAMEPAY_TEST_NATS_URL") or (
    "nats://127.0.0.1:4222" if os.environ.get("CI") else None
)
"""The NATS server (JetStream on) the NATS bus tests run on; .ci/run always sets it, and in CI
it defaults to the local server (so the NATS tests run there, and fail if it is not up)."""


def pytest_configure(config: pytest.Config) -> None:
    """In CI the PostgreSQL and NATS tests must run, never skip."""
    if os.environ.get("CI") and not PG_URL:
        raise pytest.UsageError("CI is set but GAMEPAY_TEST_POSTGRES_URL is not")


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each storage test runs once per backend: SQLite always, PostgreSQL when configured."""
    name: str = request.param
    if name == "postgresql" and not PG_URL:
        pytest.skip("GAMEPAY_TEST_POSTGRES_URL is not set")
    return name


@pytest.fixture
async def db_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database of the current backend, dropped after the test."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path / "gamepay.db")
        return
    assert PG_URL is not None
    async with fresh_postgres_database(PG_URL) as url:
        yield url


@pytest.fixture
def pg_url() -> str:
    """The PostgreSQL server URL; skips outside CI when it is not configured."""
    if not PG_URL:
        pytest.skip("GAMEPAY_TEST_POSTGRES_URL is not set")
    return PG_URL


@pytest.fixture
def nats_url() -> str:
    """The NATS server URL; skips outside CI when it is not configured."""
    if not NATS_URL:
        pytest.skip("GAMEPAY_TEST_NATS_URL is not set")
    return NATS_URL
