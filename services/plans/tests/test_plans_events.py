"""Acceptance 4: every change of the imports reaches NATS exactly once, and a refused document
sends nothing."""

from __future__ import annotations

import asyncio
from collections import Counter

from httpx import AsyncClient
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_plans.store.models import OutboxEvent
from cchc_plans.testing import PLAN_FILES, YAML, import_file
from cchc_shared.events.consumer import decode_events
from cchc_shared.events.envelope import CloudEvent

DEMO_UNITS = 45 + 5 + 5  # the Kon Tum (and Quảng Ngãi), Bắc Kạn and Khánh Hòa demo trees


async def read_stream(js: JetStreamContext) -> list[CloudEvent]:
    await js.add_consumer(
        "CCHC_PLANS",
        ConsumerConfig(
            durable_name="test-reader",
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
        ),
    )
    sub = await js.pull_subscribe_bind(durable="test-reader", stream="CCHC_PLANS")
    events: list[CloudEvent] = []
    while True:
        try:
            msgs = await sub.fetch(500, timeout=1.0)
        except (TimeoutError, FetchTimeoutError):
            break
        for msg in msgs:
            events.extend(decode_events(msg.data))
            await msg.ack()
    await sub.unsubscribe()
    return events


async def test_every_change_reaches_nats_exactly_once(
    client: AsyncClient, js: JetStreamContext, engine: AsyncEngine
) -> None:
    for name in PLAN_FILES:
        await import_file(client, name)
    for name in PLAN_FILES:  # again: no new event
        assert (await import_file(client, name))["result"] == "unchanged"
    faulty = b"code: x\nkind: annual_plan\nprovince: kon-tum\n"
    assert (
        await client.post("/api/v1/plans/import", content=faulty, headers=YAML)
    ).status_code == 422
    async with asyncio.timeout(30):
        while True:  # the relay publishes what was committed
            async with engine.connect() as conn:
                if not (
                    await conn.execute(
                        select(OutboxEvent.seq).where(OutboxEvent.published_at.is_(None))
                    )
                ).first():
                    break
            await asyncio.sleep(0.1)

    events = [e for e in await read_stream(js) if e.type != "vn.cchc.plans.task.overdue"]
    ids = Counter(e.id for e in events)
    assert max(ids.values()) == 1  # exactly once
    async with engine.connect() as conn:
        outbox_ids = set((await conn.execute(select(OutboxEvent.event_id))).scalars())
    assert {str(i) for i in outbox_ids} >= set(ids)
    by_type = Counter(e.type.removeprefix("vn.cchc.plans.") for e in events)
    assert by_type == {
        "org_unit.changed": DEMO_UNITS,
        "plan.issued": 4,
        "target.upserted": sum(t for _, t, _ in PLAN_FILES.values()),
        "task.assigned": sum(t for _, _, t in PLAN_FILES.values()),
    }
    # Payloads stand on their own: a target carries its plan and its due date.
    target = next(e for e in events if e.type.endswith("target.upserted"))
    assert {"plan_id", "plan_code", "measure", "op", "value", "effective_due", "version"} <= set(
        target.data
    )
    issued = next(e for e in events if e.type.endswith("plan.issued"))
    assert issued.subject == issued.data["id"] and issued.data["status"] == "issued"
