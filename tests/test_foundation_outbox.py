"""Nothing lost, nothing counted twice: 10,000 events through a service's outbox while NATS is
crashed and restarted and the consuming process is SIGKILLed and restarted."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_plans.store.models import DeadLetter, OutboxEvent
from cchc_shared.db import create_sessionmaker, transaction
from cchc_shared.embedded import EmbeddedNats
from cchc_shared.events.envelope import CloudEvent
from cchc_shared.events.outbox import enqueue
from cchc_shared.events.relay import OutboxRelay
from cchc_shared.events.streams import connect, ensure_streams
from cchc_shared.testing import TestInfra

TOTAL = 10_000
CONSUMER = Path(__file__).parent / "support" / "probe_consumer.py"

pytestmark = pytest.mark.slow


@pytest.fixture
async def probe_table(engine: AsyncEngine, clean_state: None) -> AsyncIterator[None]:
    # Deliberately no unique constraint: a double application must show up as a duplicate row.
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS outbox_probe CASCADE"))
        await conn.execute(text("CREATE SCHEMA outbox_probe"))
        await conn.execute(
            text(
                "CREATE TABLE outbox_probe.effects (id bigserial PRIMARY KEY, event_id text, n int)"
            )
        )
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA outbox_probe CASCADE"))


def start_consumer(infra: TestInfra, nats_url: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(CONSUMER), infra.database_url, nats_url],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


async def effect_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(text("SELECT count(*) FROM outbox_probe.effects"))).scalar_one()
        )


async def wait_until(predicate: Callable[[], Awaitable[bool]], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while not await predicate():  # noqa: ASYNC110 - polling the database, not an event
            await asyncio.sleep(0.1)


async def test_ten_thousand_events_survive_nats_crash_and_consumer_kill(
    infra: TestInfra, engine: AsyncEngine, probe_table: None, tmp_path: Path
) -> None:
    nats = EmbeddedNats(tmp_path / "jetstream", sync_interval="always")
    nats.start()
    nc = await connect(nats.url, name="outbox-test")
    js = nc.jetstream()
    await ensure_streams(js)
    sessionmaker = create_sessionmaker(engine)
    relay = OutboxRelay(
        engine=engine, js=js, outbox=OutboxEvent, batch_size=200, poll_interval=0.05
    )
    relay_task = asyncio.create_task(relay.run())
    log = tmp_path / "consumer.log"
    consumer = start_consumer(infra, nats.url, log)

    async def produce(start: int, stop: int) -> None:
        for chunk in range(start, stop, 100):
            async with transaction(sessionmaker) as session:
                await enqueue(
                    session,
                    OutboxEvent,
                    *(
                        CloudEvent(
                            source="/cchc/test", type="vn.cchc.plans.probe.happened", data={"n": n}
                        )
                        for n in range(chunk, min(chunk + 100, stop))
                    ),
                )

    try:
        await produce(0, 4_000)
        await wait_until(lambda: _published(engine, at_least=2_000), 60)

        # NATS crashes (SIGKILL) while events are in flight, and comes back on the same port.
        nats.kill()
        await produce(4_000, 7_000)
        await asyncio.sleep(1.0)
        nats.start()

        # The consumer is killed mid-stream and restarted.
        await wait_until(lambda: _effects_at_least(engine, 1_000), 120)
        consumer.send_signal(signal.SIGKILL)
        consumer.wait()
        await produce(7_000, TOTAL)
        consumer = start_consumer(infra, nats.url, log)

        await wait_until(lambda: _effects_at_least(engine, TOTAL), 240)
        await asyncio.sleep(3.0)  # let any late redelivery land: it must not add a row

        async with engine.connect() as conn:
            total, distinct_ids, distinct_n = (
                await conn.execute(
                    text(
                        "SELECT count(*), count(DISTINCT event_id), count(DISTINCT n) "
                        "FROM outbox_probe.effects"
                    )
                )
            ).one()
            unpublished = (
                await conn.execute(select(func.count()).where(OutboxEvent.published_at.is_(None)))
            ).scalar_one()
            dead = (await conn.execute(select(func.count()).select_from(DeadLetter))).scalar_one()
        assert (total, distinct_ids, distinct_n) == (TOTAL, TOTAL, TOTAL), log.read_text()[-3000:]
        assert unpublished == 0
        assert dead == 0
    finally:
        consumer.kill()
        consumer.wait()
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
        await nc.close()
        nats.stop()


async def _published(engine: AsyncEngine, at_least: int) -> bool:
    async with engine.connect() as conn:
        n = (
            await conn.execute(select(func.count()).where(OutboxEvent.published_at.is_not(None)))
        ).scalar_one()
    return int(n) >= at_least


async def _effects_at_least(engine: AsyncEngine, n: int) -> bool:
    return await effect_count(engine) >= n
