"""Fixtures for every test in the repository: real PostgreSQL and NATS JetStream.

The servers start once per test session (``cchc_shared.testing``); every service's migrations
run for real; a test that asks for ``clean_state`` starts from empty tables and empty streams.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_launcher.migrate import migrate_all
from cchc_launcher.services import SCHEMAS
from cchc_shared.db import create_engine
from cchc_shared.events.streams import connect
from cchc_shared.testing import (
    TestInfra,
    TestTokens,
    reset_streams,
    start_test_infra,
    truncate_schemas,
)


@pytest.fixture(scope="session")
def infra() -> Iterator[TestInfra]:
    infra = start_test_infra()
    try:
        migrate_all(infra.database_url)
        yield infra
    finally:
        infra.stop()


@pytest.fixture(scope="session")
def test_tokens() -> TestTokens:
    """The tests' signing key: ``test_tokens.mint("planner", scope=...)`` makes a real token."""
    return TestTokens()


@pytest.fixture(scope="session")
def service_env(infra: TestInfra, test_tokens: TestTokens) -> Iterator[dict[str, str]]:
    """Environment that points settings classes at the test servers (and the tests' keys)."""
    env = {
        "CCHC_DATABASE_URL": infra.database_url,
        "CCHC_NATS_URL": infra.nats_url,
        "CCHC_LOG_JSON": "false",
        "CCHC_LOG_LEVEL": "WARNING",
        # Services verify tokens for real; the tests' own key signs them.
        "CCHC_AUTH_REQUIRED": "true",
        "CCHC_AUTH_JWKS": json.dumps(test_tokens.jwks()),
    }
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)
    yield env
    mp.undo()


@pytest.fixture(scope="session")
async def engine(infra: TestInfra) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(infra.database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def nc(infra: TestInfra) -> AsyncIterator[NATS]:
    nc = await connect(infra.nats_url, name="tests")
    yield nc
    await nc.drain()


@pytest.fixture(scope="session")
def js(nc: NATS) -> JetStreamContext:
    return nc.jetstream()


@pytest.fixture
async def clean_state(infra: TestInfra, js: JetStreamContext) -> None:
    """Empty tables in every service schema and no streams: the test starts from nothing."""
    await truncate_schemas(infra.database_url, SCHEMAS)
    await reset_streams(js)


@pytest.fixture
def make_client(
    service_env: dict[str, str], test_tokens: TestTokens
) -> Callable[..., AbstractAsyncContextManager[AsyncClient]]:
    """Open an app (lifespan included: engine, NATS, background workers) behind an httpx client.

    Usage: ``async with make_client(create_app()) as client: ...``. The client sends an admin
    token; ``make_client(app, role="viewer", scope=org_unit_id)`` another one, ``role=None`` none.
    """

    @asynccontextmanager
    async def open_client(
        app: FastAPI, *, role: str | None = "admin", scope: str | None = None
    ) -> AsyncIterator[AsyncClient]:
        headers = test_tokens.headers(role, scope) if role is not None else {}
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
            transport = ASGITransport(app=manager.app, raise_app_exceptions=False)
            async with AsyncClient(
                transport=transport, base_url="http://testserver", headers=headers
            ) as client:
                yield client

    return open_client


@pytest.fixture
def auth_headers(test_tokens: TestTokens) -> Callable[..., dict[str, str]]:
    """``auth_headers("agency_officer", scope=org_unit_id)``: headers with such a token."""
    return test_tokens.headers
