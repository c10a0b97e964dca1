"""Fixtures of the gateway's tests: the gateway app on the real test database, from an empty
`gateway` schema (so bootstrap runs as on a first start)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from httpx import AsyncClient

from cchc_gateway.main import create_app
from cchc_gateway.testing import ADMIN_PASSWORD, gateway_settings, password_token
from cchc_shared.testing import TestInfra, truncate_schemas

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]


@pytest.fixture
async def empty_gateway_schema(infra: TestInfra) -> None:
    await truncate_schemas(infra.database_url, ["gateway"])


@pytest.fixture
async def gateway(
    empty_gateway_schema: None, make_client: ClientFactory
) -> AsyncIterator[AsyncClient]:
    """The gateway (no token attached: the tests' key is not the gateway's)."""
    async with make_client(create_app(gateway_settings()), role=None) as client:
        yield client


@pytest.fixture
async def admin_headers(gateway: AsyncClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {await password_token(gateway, 'admin', ADMIN_PASSWORD)}"}
