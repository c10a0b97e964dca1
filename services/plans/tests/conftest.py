"""Fixtures of the plans service's tests: the app on real PostgreSQL and NATS, from empty state
(the demo org-unit trees are loaded as the app starts)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_plans.main import create_app
from cchc_plans.store.models import OutboxEvent
from cchc_shared.settings import PlansSettings
from cchc_shared.testing import TestTokens

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]


async def outbox_backlog(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        stmt = select(func.count()).where(OutboxEvent.published_at.is_(None))
        return int((await conn.execute(stmt)).scalar_one())


async def wait_published(engine: AsyncEngine, seconds: float = 30.0) -> None:
    """Until the relay has published every committed event."""
    async with asyncio.timeout(seconds):
        while True:
            if await outbox_backlog(engine) == 0:
                return
            await asyncio.sleep(0.05)


@pytest.fixture
async def client(
    clean_state: None, make_client: ClientFactory, engine: AsyncEngine
) -> AsyncIterator[AsyncClient]:
    """The plans app (admin token) with its background relay, consumer and overdue worker."""
    async with make_client(create_app(PlansSettings())) as c:
        yield c
        # Stopping while the relay awaits publish acknowledgements stalls the NATS drain.
        await wait_published(engine)


@pytest.fixture
def as_role(test_tokens: TestTokens) -> Callable[..., dict[str, str]]:
    """``as_role("viewer", subject="lan")``: headers of another principal for one request."""

    def headers(role: str, scope: str | None = None, subject: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {test_tokens.mint(role, scope=scope, subject=subject)}"}

    return headers
