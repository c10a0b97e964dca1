"""Published outbox rows are deleted once past their retention; unpublished ones never are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_plans.store.models import OutboxEvent
from cchc_shared.db import create_sessionmaker, transaction
from cchc_shared.events.envelope import CloudEvent
from cchc_shared.events.outbox import enqueue
from cchc_shared.events.relay import OutboxRelay, retention
from cchc_shared.events.streams import ensure_streams

pytestmark = pytest.mark.usefixtures("clean_state")


def probe(n: int) -> CloudEvent:
    return CloudEvent(source="/cchc/test", type="vn.cchc.plans.probe.happened", data={"n": n})


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    """(published rows, unpublished rows) in the plans outbox."""
    async with engine.connect() as conn:
        published = select(func.count()).where(OutboxEvent.published_at.is_not(None))
        waiting = select(func.count()).where(OutboxEvent.published_at.is_(None))
        return (await conn.scalar(published)) or 0, (await conn.scalar(waiting)) or 0


async def test_prune_deletes_only_rows_published_before_the_cut(
    engine: AsyncEngine, js: JetStreamContext
) -> None:
    await ensure_streams(js)
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        await enqueue(session, OutboxEvent, *(probe(n) for n in range(30)))
    relay = OutboxRelay(engine=engine, js=js, outbox=OutboxEvent, batch_size=20)
    assert await relay.publish_batch() == 20  # 20 published, 10 still waiting
    now = datetime.now(UTC)
    async with engine.begin() as conn:  # 12 of the published ones were published two days ago
        old = select(OutboxEvent.seq).where(OutboxEvent.published_at.is_not(None)).limit(12)
        await conn.execute(
            update(OutboxEvent)
            .where(OutboxEvent.seq.in_(old.scalar_subquery()))
            .values(published_at=now - timedelta(days=2))
        )

    assert await relay.prune(now - timedelta(days=1)) == 12
    assert await counts(engine) == (8, 10)
    assert await relay.prune(now - timedelta(days=1)) == 0  # nothing more is old enough


def test_retention_zero_keeps_rows_forever() -> None:
    assert retention(0) is None
    assert retention(24) == timedelta(hours=24)
