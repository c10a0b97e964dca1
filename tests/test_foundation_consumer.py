"""The shared consumer: redeliveries are skipped, transient failures retried, poison dead-lettered,
and a request's session is committed before its response is sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager

import pytest
from fastapi import APIRouter, FastAPI
from httpx import AsyncClient
from nats.js import JetStreamContext
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cchc_plans.store.models import DeadLetter, ProcessedMessage
from cchc_shared.app import ServiceDefinition, create_service_app
from cchc_shared.db import DbSession, create_sessionmaker
from cchc_shared.events.consumer import ConsumerSpec, EventConsumer, PoisonMessage
from cchc_shared.events.envelope import CloudEvent
from cchc_shared.events.streams import PLANS_STREAM, ensure_streams
from cchc_shared.settings import ServiceSettings

ClientFactory = Callable[[FastAPI], AbstractAsyncContextManager[AsyncClient]]


@pytest.fixture
async def applied(engine: AsyncEngine, clean_state: None) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS consumer_probe CASCADE"))
        await conn.execute(text("CREATE SCHEMA consumer_probe"))
        await conn.execute(text("CREATE TABLE consumer_probe.applied (event_id text, n int)"))
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA consumer_probe CASCADE"))


async def publish(js: JetStreamContext, *events: CloudEvent) -> None:
    for event in events:
        await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})


def event(n: int) -> CloudEvent:
    return CloudEvent(source="/cchc/test", type="vn.cchc.plans.probe.happened", data={"n": n})


async def run_consumer(
    js: JetStreamContext, engine: AsyncEngine, handler: Callable[..., object], *, until: int
) -> None:
    """Run a consumer until ``until`` rows are applied or dead-lettered, then stop it."""
    consumer = EventConsumer(
        js=js,
        sessionmaker=create_sessionmaker(engine),
        spec=ConsumerSpec(
            durable="probe",
            stream=PLANS_STREAM.name,
            filter_subjects=("cchc.plans.probe.>",),
            handler=handler,  # type: ignore[arg-type]
            max_deliver=3,
            backoff=(0.1,),
            batch_size=10,
        ),
        processed=ProcessedMessage,
        dead_letters=DeadLetter,
    )
    task = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(60):
            while await settled(engine) < until:  # noqa: ASYNC110 - polling the database
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # room for a wrong extra application to show up
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def settled(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        applied = (await conn.execute(text("SELECT count(*) FROM consumer_probe.applied"))).scalar()
        dead = (await conn.execute(select(func.count()).select_from(DeadLetter))).scalar()
    return int(applied or 0) + int(dead or 0)


async def insert_applied(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    await session.execute(
        text("INSERT INTO consumer_probe.applied VALUES (:id, :n)"),
        [{"id": e.id, "n": e.data["n"]} for e in events],
    )


async def test_redelivered_events_apply_once(
    js: JetStreamContext, engine: AsyncEngine, applied: None
) -> None:
    await ensure_streams(js)
    events = [event(n) for n in range(20)]
    await publish(js, *events)
    # The same ids again, as a relay retrying after a lost acknowledgement would. JetStream's
    # duplicate window drops them; the processed-messages table would catch them otherwise.
    await publish(js, *events[:5])
    await run_consumer(js, engine, insert_applied, until=20)
    # Replay the stream from the start with a new consumer position: all already processed.
    await js.delete_consumer(PLANS_STREAM.name, "probe")
    await run_consumer(js, engine, insert_applied, until=20)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT count(*), count(DISTINCT n) FROM consumer_probe.applied")
            )
        ).one()
    assert tuple(rows) == (20, 20)


async def test_transient_failure_is_retried_and_poison_is_dead_lettered(
    js: JetStreamContext, engine: AsyncEngine, applied: None
) -> None:
    await ensure_streams(js)
    attempts: dict[int, int] = {}

    async def flaky(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        for e in events:
            n = e.data["n"]
            attempts[n] = attempts.get(n, 0) + 1
            if n == 1 and attempts[n] < 2:
                raise ConnectionError("database hiccup")  # transient: succeeds on retry
            if n == 2:
                raise PoisonMessage("negative dossier count")  # never applicable
            if n == 3:
                raise ValueError("always fails")  # transient-looking, but bounded
        await insert_applied(session, events)

    await publish(js, *(event(n) for n in range(5)))
    await run_consumer(js, engine, flaky, until=5)

    async with engine.connect() as conn:
        applied_n = sorted(
            (await conn.execute(text("SELECT n FROM consumer_probe.applied"))).scalars()
        )
        dead = {
            row.reason.split(":")[0]: row.deliveries
            for row in (await conn.execute(select(DeadLetter.reason, DeadLetter.deliveries)))
        }
    assert applied_n == [0, 1, 4]
    assert dead == {"PoisonMessage": 1, "ValueError": 3}  # poison at once; others after max_deliver


async def test_a_failing_commit_never_answers_success(
    make_client: ClientFactory, engine: AsyncEngine, applied: None
) -> None:
    """The session is committed before the response is sent: when the commit fails (here a
    deferred constraint, checked only at commit), the client gets an error, not a 2xx."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "ALTER TABLE consumer_probe.applied ADD CONSTRAINT one_per_event "
                "UNIQUE (event_id) DEFERRABLE INITIALLY DEFERRED"
            )
        )
    router = APIRouter()

    @router.post("/api/v1/things")
    async def create(session: DbSession) -> dict[str, str]:
        await session.execute(text("INSERT INTO consumer_probe.applied VALUES ('x', 1), ('x', 2)"))
        return {"status": "created"}

    definition = ServiceDefinition(name="probe", title="probe", description="", routers=[router])
    app = create_service_app(definition, ServiceSettings(run_background_workers=False))
    async with make_client(app) as client:
        resp = await client.post("/api/v1/things")
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert await settled(engine) == 0


async def test_a_poison_event_inside_a_batch_is_isolated(
    js: JetStreamContext, engine: AsyncEngine, applied: None
) -> None:
    """A CloudEvents batch message with one poison event: the others apply, the poison one is
    dead-lettered on its own, with its id."""
    await ensure_streams(js)
    events = [event(n) for n in range(5)]
    body = b"[" + b",".join(e.to_bytes() for e in events) + b"]"
    await js.publish(
        "cchc.plans.probe.happened",
        body,
        headers={
            "Nats-Msg-Id": "batch-probe",
            "Content-Type": "application/cloudevents-batch+json",
        },
    )

    async def reject_two(session: AsyncSession, batch: Sequence[CloudEvent]) -> None:
        if any(e.data["n"] == 2 for e in batch):
            raise PoisonMessage("n = 2 can never be applied")
        await insert_applied(session, batch)

    await run_consumer(js, engine, reject_two, until=5)
    async with engine.connect() as conn:
        applied_n = sorted(
            (await conn.execute(text("SELECT n FROM consumer_probe.applied"))).scalars()
        )
        dead_ids = list((await conn.execute(select(DeadLetter.event_id))).scalars())
    assert applied_n == [0, 1, 3, 4]
    assert dead_ids == [events[2].id]
