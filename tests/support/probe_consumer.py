"""A consumer process for the outbox durability test: applies `vn.cchc.probe.*` events by
inserting one row per event into ``outbox_probe.effects``. Killed and restarted by the test."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.store.models import DeadLetter, ProcessedMessage
from cchc_shared.db import create_engine, create_sessionmaker
from cchc_shared.events.consumer import ConsumerSpec, EventConsumer
from cchc_shared.events.envelope import CloudEvent
from cchc_shared.events.streams import PLANS_STREAM, connect


async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    await session.execute(
        text("INSERT INTO outbox_probe.effects (event_id, n) VALUES (:event_id, :n)"),
        [{"event_id": e.id, "n": e.data["n"]} for e in events],
    )


async def main(database_url: str, nats_url: str) -> None:
    engine = create_engine(database_url, pool_size=2)
    nc = await connect(nats_url, name="probe-consumer")
    consumer = EventConsumer(
        js=nc.jetstream(),
        sessionmaker=create_sessionmaker(engine),
        spec=ConsumerSpec(
            durable="probe",
            stream=PLANS_STREAM.name,
            filter_subjects=("cchc.plans.probe.>",),
            handler=apply,
            batch_size=100,
            ack_wait=5.0,
        ),
        processed=ProcessedMessage,
        dead_letters=DeadLetter,
    )
    print("consuming", flush=True)
    await consumer.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
