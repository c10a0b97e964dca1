"""Acceptance 3 of the ingest: changes the simulated one-stop system makes while the poller runs
are stored, and each stored change is published to JetStream exactly once, in version order."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import orjson
import pytest
from httpx import AsyncClient
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_ingest.domain.dossier import parse_dossier
from cchc_ingest.domain.facts import derive_facts
from cchc_ingest.main import create_app
from cchc_shared.events.streams import INGEST_STREAM
from cchc_simulator.simulator import Simulator
from tests.test_ingest_e2e_support import (
    ALL_FAULTS,
    HASHER,
    in_process_simulator,
    ingest_settings,
    wait_for,
)

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_state")]

BURSTS = 12
CHANGES_PER_BURST = 150
# Malformed versions are left out here: acceptance 1 and 2 prove the quarantine, and a live
# dossier whose only live version is malformed has a latest valid version in the history, which
# this run (polling from now) never reads.
LIVE_FAULTS = ALL_FAULTS | {"malformed_rate": 0.0}


def live_changes(simulator: Simulator, first_position: int) -> dict[str, tuple[int, Any]]:
    """code -> (latest version, its facts) of every dossier changed since ``first_position``."""
    feed, table = simulator.feed, simulator.table
    touched = {feed.dossier[p] for p in range(first_position, len(feed))}
    expected = {}
    for dossier in touched:
        version = table.released[dossier]
        record = simulator.renderer.render(dossier, version)
        expected[table.codes[dossier]] = (version, derive_facts(parse_dossier(record, HASHER)))
    return expected


async def stored(engine: AsyncEngine) -> dict[str, tuple[int, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT code, version, facts::jsonb FROM ingest.dossiers"))
        return {code: (version, facts) for code, version, facts in rows}


async def published_events(js: JetStreamContext) -> list[dict[str, Any]]:
    """Every message of the ingest stream, read from its start by a consumer of our own."""
    sub = await js.pull_subscribe(">", durable="e2e-live-check", stream=INGEST_STREAM.name)
    events: list[dict[str, Any]] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(500, timeout=2.0)
            except (TimeoutError, NatsTimeoutError):
                return events
            for msg in msgs:
                events.extend(_events_of(msg.data, msg.headers or {}))
                await msg.ack()
    finally:
        await sub.unsubscribe()


def _events_of(data: bytes, headers: dict[str, str]) -> list[dict[str, Any]]:
    """A message carries one structured CloudEvent, or a CloudEvents batch (a JSON array)."""
    body = orjson.loads(data)
    if isinstance(body, list):
        assert headers.get("Content-Type") == "application/cloudevents-batch+json"
        return body
    assert headers["Nats-Msg-Id"] == body["id"]
    return [body]


async def test_live_changes_are_stored_and_published_once_each(
    make_client: ClientFactory, engine: AsyncEngine, js: JetStreamContext
) -> None:
    simulator, sim_app = in_process_simulator(1_000, LIVE_FAULTS)
    settings = ingest_settings("http://lgsp", poll_interval=0.2, poll_from="now")
    app = create_app(settings, source_transport=httpx.ASGITransport(app=sim_app))
    first_live = len(simulator.feed)
    async with (
        make_client(app) as api,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim_app), base_url="http://lgsp"
        ) as sim,
    ):
        await wait_for(lambda: _polled(api), 30)
        written = 0
        for _ in range(BURSTS):
            await asyncio.sleep(1.05 - time.time() % 1.0)  # the feed takes one burst a second
            answer = await sim.post("/_sim/live", params={"changes": CHANGES_PER_BURST})
            written += answer.json()["written"]
        expected = live_changes(simulator, first_live)

        async def caught_up() -> bool:
            held = await stored(engine)
            return all(held.get(code, (0,))[0] == v for code, (v, _) in expected.items())

        await wait_for(caught_up, 60)
        await wait_for(lambda: _outbox_empty(engine), 120)
        events = await published_events(js)
        held = await stored(engine)

    assert written == BURSTS * CHANGES_PER_BURST == len(simulator.feed) - first_live
    assert held.keys() == expected.keys()  # the history was never read: only live dossiers
    assert held == expected  # each at its latest version, with that version's facts

    assert all(n == 1 for n in Counter(e["id"] for e in events).values())
    changed = [e["data"] for e in events if e["type"] == "vn.cchc.ingest.dossier.changed"]
    by_dossier: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for data in changed:
        by_dossier[data["dossier_code"]].append(data)
    assert by_dossier.keys() == held.keys()
    for code, chain in by_dossier.items():
        versions = [d["version"] for d in chain]
        assert versions == sorted(set(versions)), (code, versions)  # once each, in order
        assert [d["previous_version"] for d in chain] == [None, *versions[:-1]], code
        assert [d["before"] for d in chain[1:]] == [d["after"] for d in chain[:-1]], code
        assert (chain[-1]["version"], chain[-1]["after"]) == held[code]
    async with engine.connect() as conn:
        upserts = (
            await conn.execute(text("SELECT count(*) FROM ingest.outbox_event_list"))
        ).scalar()
    assert len(events) == upserts  # nothing lost, nothing published twice
    # Most changes reached us one by one (a poll can merge two versions of a dossier into one).
    assert len(changed) >= 0.9 * written


async def _polled(api: AsyncClient) -> bool:
    status = (await api.get("/api/v1/ingest/status")).json()
    return any(s["source"] == "lgsp" and s["last_success_at"] for s in status["sources"])


async def _outbox_empty(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        backlog = await conn.execute(
            text("SELECT count(*) FROM ingest.outbox_events WHERE published_at IS NULL")
        )
        return backlog.scalar() == 0
