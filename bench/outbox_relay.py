"""Outbox → JetStream throughput: events written to a service outbox, published by the relay
(acknowledged by JetStream with ``sync_interval: always``), and applied by an idempotent
consumer into a table. Embedded PostgreSQL and NATS on this machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.report import Figure, write_section
from cchc_launcher.migrate import migrate_all
from cchc_plans.store.models import DeadLetter, OutboxEvent, ProcessedMessage
from cchc_shared.db import create_engine, create_sessionmaker
from cchc_shared.embedded import EmbeddedNats, EmbeddedPostgres
from cchc_shared.events.consumer import ConsumerSpec, EventConsumer
from cchc_shared.events.envelope import CloudEvent
from cchc_shared.events.outbox import outbox_rows
from cchc_shared.events.relay import OutboxRelay
from cchc_shared.events.streams import PLANS_STREAM, connect, ensure_streams

EVENTS = 50_000


async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    await session.execute(
        text("INSERT INTO bench_probe.effects (event_id) VALUES (:id)"),
        [{"id": e.id} for e in events],
    )


async def measure(database_url: str, nats_url: str, events_per_message: int) -> tuple[float, float]:
    engine = create_engine(database_url, pool_size=4)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS bench_probe CASCADE"))
        await conn.execute(text("CREATE SCHEMA bench_probe"))
        await conn.execute(text("CREATE TABLE bench_probe.effects (event_id text)"))
        await conn.execute(text("TRUNCATE plans.outbox_events, plans.processed_messages"))
    nc = await connect(nats_url, name="bench")
    js = nc.jetstream()
    with contextlib.suppress(Exception):
        await js.delete_stream(PLANS_STREAM.name)
    await ensure_streams(js)
    rows = outbox_rows(
        CloudEvent(
            source="/cchc/bench",
            type="vn.cchc.plans.probe.happened",
            subject=f"000.00.01.H34-240305-{n:05d}",
            data={
                "n": n,
                "facts": {"agency_code": "000.00.01.H34", "status": 4, "channel": "online"},
            },
        )
        for n in range(EVENTS)
    )
    async with engine.begin() as conn:
        await conn.execute(OutboxEvent.__table__.insert(), rows)  # type: ignore[attr-defined]
    relay = OutboxRelay(
        engine=engine,
        js=js,
        outbox=OutboxEvent,
        batch_size=2000,
        events_per_message=events_per_message,
    )
    consumer = EventConsumer(
        js=js,
        sessionmaker=create_sessionmaker(engine),
        spec=ConsumerSpec(
            "bench", PLANS_STREAM.name, ("cchc.plans.probe.>",), apply, batch_size=50
        ),
        processed=ProcessedMessage,
        dead_letters=DeadLetter,
    )
    started = time.perf_counter()
    published = 0
    while published < EVENTS:
        published += await relay.publish_batch()
    publish_seconds = time.perf_counter() - started
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run())
    while True:
        async with engine.connect() as conn:
            done = (
                await conn.execute(select(func.count()).select_from(text("bench_probe.effects")))
            ).scalar_one()
        if done >= EVENTS:
            break
        await asyncio.sleep(0.05)
    consume_seconds = time.perf_counter() - started
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await nc.close()
    await engine.dispose()
    return EVENTS / publish_seconds, EVENTS / consume_seconds


async def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="cchc-bench-"))
    os.chmod(root, 0o755)  # the embedded PostgreSQL user must traverse it
    pg = EmbeddedPostgres(root / "pg")
    nats = EmbeddedNats(root / "nats", sync_interval="always")
    pg.start()
    nats.start()
    try:
        pg.create_database("bench")
        url = pg.url("bench")
        await asyncio.to_thread(migrate_all, url)
        single_pub, single_con = await measure(url, nats.url, 1)
        batch_pub, batch_con = await measure(url, nats.url, 100)
    finally:
        nats.stop()
        pg.stop()
    write_section(
        "Outbox relay and consumer",
        [
            Figure(
                "relay publish, 100 events per message (events/s)",
                f"{batch_pub:,.0f}",
                f"{single_pub:,.0f} with one event per message",
                "≥ 10,000",
            ),
            Figure(
                "consumer apply, batched messages (events/s)",
                f"{batch_con:,.0f}",
                f"{single_con:,.0f} with one event per message",
                "≥ 10,000",
            ),
        ],
        notes=(
            f"{EVENTS:,} events through the plans outbox; JetStream file storage with "
            "`sync_interval: always` (fsync per message), which is why events travel "
            "as CloudEvents batches. Baseline from shared/engineering.md: nats-py publish_async "
            "about 48k msgs/s and a fetch(100)+ack pull consumer about 26k/s without per-message "
            "fsync."
        ),
    )


if __name__ == "__main__":
    asyncio.run(main())
