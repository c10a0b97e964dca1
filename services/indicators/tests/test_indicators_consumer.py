"""The running service consumes real JetStream events: redeliveries and late older versions
change nothing, poison is dead-lettered, and target status changes are published."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from nats.js import JetStreamContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_indicators.api.common import CACHE
from cchc_indicators.main import create_app
from cchc_indicators.service import context
from cchc_indicators.store.models import DeadLetter
from cchc_indicators.testing import (
    agency_event,
    dossier_event,
    facts,
    finished,
    plan_event,
    target_event,
    vn,
)
from cchc_shared.events.consumer import decode_events
from cchc_shared.events.envelope import CloudEvent
from cchc_shared.settings import IndicatorsSettings

ClientFactory = Callable[[FastAPI], AbstractAsyncContextManager[AsyncClient]]


@pytest.fixture(autouse=True)
def always_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads see each write at once (the service may reuse freshness for a quarter second)."""
    monkeypatch.setattr(context, "FRESHNESS_TTL", 0.0)


async def publish(js: JetStreamContext, event: CloudEvent, msg_id: str | None = None) -> None:
    await js.publish(
        event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": msg_id or event.id}
    )


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll until the check holds (the consumer applies events in the background)."""
    async with asyncio.timeout(20):
        while not await check():  # noqa: ASYNC110 - the state lives in another task's database
            await asyncio.sleep(0.1)


async def test_events_through_jetstream(
    make_client: ClientFactory, js: JetStreamContext, engine: AsyncEngine, clean_state: None
) -> None:
    CACHE.clear()
    plan, target = uuid.uuid4(), uuid.uuid4()
    async with make_client(create_app(IndicatorsSettings())) as client:
        for e in [
            agency_event("P", "UBND tỉnh", "province", None),
            agency_event("A1", "UBND xã", "commune", "P"),
        ]:
            await publish(js, e)
        open_v1 = dossier_event(facts("X1", 1))
        done_v3 = dossier_event(finished("X1", 3, vn(2024, 3, 5), channel="online"))
        await publish(js, done_v3)
        await publish(js, open_v1)  # an older version arriving late: ignored
        await publish(js, done_v3, msg_id=str(uuid.uuid4()))  # a redelivery past the window
        await publish(js, dossier_event(facts("X2", 1, channel="online")))
        await publish(
            js,
            CloudEvent(
                source="/cchc/ingest",
                type="vn.cchc.ingest.dossier.changed",
                data={"dossier_code": "BAD"},
            ),
        )
        await publish(js, plan_event(plan, "1/KH", date(2024, 1, 1), date(2024, 12, 31)))
        await publish(js, target_event(target, plan, "online", "DOSSIER_ONLINE_RATE", 50))

        async def values() -> dict[str, Any]:
            resp = await client.get(
                "/api/v1/indicators/DOSSIER_ONLINE_RATE/values",
                params={"period": "2024-03", "org_unit": "P"},
            )
            return dict(resp.json()) if resp.status_code == 200 else {}

        async def both_counted() -> bool:
            body = await values()
            return body.get("denominator") == 2

        await eventually(both_counted)
        body = await values()
        assert (body["numerator"], body["denominator"]) == (2, 2)

        async def dead_lettered() -> bool:
            async with engine.connect() as conn:
                return bool((await conn.execute(select(DeadLetter.reason))).first())

        await eventually(dead_lettered)
        finished_count = await client.get(
            "/api/v1/indicators/DOSSIER_AVG_PROCESSING_DAYS/values", params={"period": "2024-03"}
        )
        assert finished_count.json()["denominator"] == 1  # X1 once, despite the redelivery

        # The target may be judged before the dossiers arrive (no_data), then again: the
        # statuses published for it must end at `achieved`, each a real change.
        sub = await js.subscribe("cchc.indicators.target.status_changed", ordered_consumer=True)
        statuses: list[str] = []
        try:
            while "achieved" not in statuses:
                msg = await sub.next_msg(timeout=20)
                statuses += [
                    e.data["status"]
                    for e in decode_events(msg.data)
                    if e.data["target_id"] == str(target)
                ]
        finally:
            await sub.unsubscribe()
    assert statuses[-1] == "achieved"
    assert all(a != b for a, b in itertools.pairwise(statuses))
