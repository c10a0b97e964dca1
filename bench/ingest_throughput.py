"""Ingest throughput: change-feed records stored and their events published, per second
(acceptance 5 of issue 5: at least 10,000 records/s on a 2-core machine).

    .venv/bin/python bench/ingest_throughput.py [--dossiers 40000] [--records 200000]

Starts its own PostgreSQL and NATS JetStream (embedded, `sync_interval: always`), renders the
simulator's change feed from its start (every record a version newer than what is stored, so
every record is a row written and an event to publish) as the JSON pages the LGSP sends, then
runs the ingest's own path on them: parse, derive facts, upsert guarded by version, status
history, outbox, cursor bookkeeping, with the service's outbox relay publishing to JetStream in
the same process, as the ingest service runs. Figures: records per second until the last event
is acknowledged by JetStream, and the parts alone (parsing only; storing without the relay;
the relay draining the outbox alone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import tempfile
import time
import timeit
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.report import Figure, write_section
from cchc_ingest.domain.dossier import PiiHasher, parse_dossier
from cchc_ingest.pipeline.records import PreparedPage, prepare_page
from cchc_ingest.pipeline.runtime import Runtime
from cchc_ingest.sources.lgsp import decode_page
from cchc_ingest.store import state
from cchc_ingest.store.dossiers import PageOutcome
from cchc_ingest.store.models import OutboxEvent
from cchc_launcher.migrate import migrate_all
from cchc_shared.db import create_engine
from cchc_shared.embedded import EmbeddedNats, EmbeddedPostgres
from cchc_shared.events.relay import OutboxRelay
from cchc_shared.events.streams import INGEST_STREAM, connect, ensure_streams
from cchc_shared.memory import settle_heap
from cchc_shared.settings import IngestSettings
from cchc_simulator.simulator import SimulationConfig, Simulator
from cchc_simulator.timeutil import DAY, parse_end

PAGE = 1000
WRITERS = 4  # the backfill's default source concurrency


class FeedPages:
    """Versions of the simulator's dossiers as JSON pages (what the LGSP would answer), every
    version of a page a distinct dossier: first every first version, then every second one...
    so each record is newer than what is stored (a row written, an event published), a fifth
    of them new dossiers and the rest updates carrying the facts they replace."""

    name = "lgsp"

    def __init__(self, dossiers: int, records: int) -> None:
        end = parse_end("20251031")
        simulator = Simulator(SimulationConfig(4212, dossiers, end - 365 * DAY + 1, end))
        feed = simulator.feed
        taken = min(records, len(feed))
        order = sorted(range(taken), key=lambda p: (feed.version[p], p))
        self.pages = [
            orjson.dumps(
                {
                    "data": [
                        simulator.served_record(feed.dossier[p], feed.version[p])
                        for p in order[start : start + PAGE]
                    ]
                }
            )
            for start in range(0, taken, PAGE)
        ]
        self.records = taken

    parse_dossier = staticmethod(parse_dossier)


def parse_only(pages: list[bytes], hasher: PiiHasher) -> float:
    began = time.perf_counter()
    for body in pages:
        prepare_page(decode_page(body)["data"], parse_dossier, hasher, source="lgsp")
    return time.perf_counter() - began


async def fresh_stream(js: object) -> None:
    with contextlib.suppress(Exception):
        await js.delete_stream(INGEST_STREAM.name)  # type: ignore[attr-defined]
    await ensure_streams(js)  # type: ignore[arg-type]


async def store_all(runtime: Runtime, pages: list[bytes]) -> int:
    """The backfill's shape: ``WRITERS`` readers, each storing a page and its bookkeeping."""
    queue = iter(pages)
    stored = 0

    async def bookkeeping(conn: AsyncConnection, _: PreparedPage, outcome: PageOutcome) -> None:
        await state.record_page(conn, "lgsp", outcome)

    async def writer() -> None:
        nonlocal stored
        for body in queue:
            records = decode_page(body)["data"]  # as the LGSP client decodes a feed page
            _, outcome = await runtime.store_records(records, bookkeeping)
            stored += outcome.stored

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return stored


async def backlog(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = "SELECT count(*) FROM ingest.outbox_events WHERE published_at IS NULL"
        return int((await conn.execute(text(query))).scalar_one())


async def measure(urls: list[str], nats_url: str, feed: FeedPages) -> dict[str, float]:
    """Each part in a database of its own, fresh from its migrations, as a new installation's
    backfill finds it (a truncated one keeps statistics that say "empty", and the plans made
    from them read the whole table for every page)."""
    settings = IngestSettings()
    engine, engine_together = (create_engine(url, pool_size=8) for url in urls)
    nc = await connect(nats_url, name="bench-ingest")
    js = nc.jetstream()
    runtime = Runtime(
        engine=engine,
        source=feed,  # type: ignore[arg-type]
        hasher=PiiHasher("bench"),
        parse_workers=settings.parse_workers,
    )

    def relay(engine: AsyncEngine) -> OutboxRelay:
        return OutboxRelay(
            engine=engine,
            js=js,
            outbox=OutboxEvent,
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval,
            events_per_message=settings.outbox_events_per_message,
        )

    @contextlib.asynccontextmanager
    async def relaying(engine: AsyncEngine) -> AsyncIterator[None]:
        """The service's relay publishing from ``engine``'s outbox while inside."""
        running = asyncio.create_task(relay(engine).run())
        try:
            yield
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running

    async def all_published(engine: AsyncEngine, every: float) -> None:
        while await backlog(engine):  # noqa: ASYNC110 - polling the database, not an event
            await asyncio.sleep(every)

    figures: dict[str, float] = {}
    await runtime.start_parsing()  # as the service does when it starts
    try:
        # Both at once, as the service runs: until JetStream acknowledged the last event. First,
        # in a cluster nothing has written to yet: after the other parts, their dirty buffers
        # and checkpoint cost it about 13% (7,958 against 9,104 a second on one machine).
        await fresh_stream(js)
        runtime.engine = engine_together
        began = time.perf_counter()
        async with relaying(engine_together):
            stored = await store_all(runtime, feed.pages)
            figures["stored_at"] = time.perf_counter() - began
            await all_published(engine_together, every=0.02)
            figures["published_at"] = time.perf_counter() - began
        info = await js.stream_info(INGEST_STREAM.name)
        figures["messages"] = info.state.messages
        figures["stored_together"] = stored
        # Storing alone (the relay idle), then the relay draining what was stored.
        await fresh_stream(js)
        runtime.engine = engine
        began = time.perf_counter()
        figures["stored"] = await store_all(runtime, feed.pages)
        figures["store_seconds"] = time.perf_counter() - began
        began = time.perf_counter()
        async with relaying(engine):
            await all_published(engine, every=0.05)
            figures["drain_seconds"] = time.perf_counter() - began
    finally:
        runtime.close()
        await nc.close()
        await engine.dispose()
        await engine_together.dispose()
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=40_000)
    parser.add_argument("--records", type=int, default=200_000)
    arguments = parser.parse_args()
    calibration = min(timeit.repeat("sum(range(1000))", number=2000)) * 500
    feed = FeedPages(arguments.dossiers, arguments.records)
    parse_seconds = parse_only(feed.pages, PiiHasher("bench"))
    # As the service settles its heap once started: the simulator behind the feed is not the
    # service's, and every full collection of the writing process would walk it.
    settle_heap()
    root = Path(tempfile.mkdtemp(prefix="cchc-bench-ingest-"))
    os.chmod(root, 0o755)  # the embedded PostgreSQL user must traverse it
    pg = EmbeddedPostgres(root / "pg")
    nats = EmbeddedNats(root / "nats", sync_interval="always")
    pg.start()
    nats.start()
    try:
        urls = []
        for name in ("bench_alone", "bench_together"):
            pg.create_database(name)
            urls.append(pg.url(name))
            await asyncio.to_thread(migrate_all, urls[-1])
        got = await measure(urls, nats.url, feed)
    finally:
        nats.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)  # a database of 200,000 dossiers
    records, stored = feed.records, got["stored_together"]
    end_to_end = records / got["published_at"]
    write_section(
        "Ingest throughput",
        [
            Figure(
                "change-feed records stored and their events published (records/s)",
                f"{end_to_end:,.0f}",
                f"{records / parse_seconds:,.0f} parsing alone (the CPU bound of one process)",
                "≥ 10,000",
            ),
            Figure(
                "records stored, relay running beside (records/s)",
                f"{records / got['stored_at']:,.0f}",
                f"{records / got['store_seconds']:,.0f} with the relay idle",
            ),
            Figure(
                "relay draining the stored events alone (events/s)",
                f"{got['stored'] / got['drain_seconds']:,.0f}",
                f"{got['messages']:,.0f} JetStream messages for {stored:,.0f} events",
            ),
        ],
        notes=(
            f"{records:,} versions of the simulator's dossiers (a year of {arguments.dossiers:,}), "
            "each page holding distinct dossiers and every record newer than the stored one: "
            f"{stored:,.0f} rows written, one `dossier.changed` event each (writers that finish "
            f"pages out of order may skip a few older versions), in pages of {PAGE} "
            f"decoded from JSON, stored by {WRITERS} concurrent writers through the ingest's own "
            "path (parse, facts, version-guarded upsert, status history, outbox, bookkeeping) "
            "with the service's outbox relay in the same process. The end-to-end figure stops "
            "the clock when JetStream (file storage, `sync_interval: always`) has acknowledged "
            "the last event. As the service runs it: one process writes (and relays), one "
            f"parsing process ({IngestSettings().parse_workers}) parses pages and renders their "
            "rows and events; PostgreSQL and NATS share the same two cores. Each part runs in "
            "a fresh database; the end-to-end part first, in a cluster nothing has written to "
            "yet (run after the others, their dirty buffers and checkpoint cost it about 13%). "
            "The baselines split the work: parsing alone is what one process "
            "reads (the service's own process parses too when it has no parsing process); "
            "storing with the relay idle is the write path alone; what the relay adds beside it "
            "is its own reads and the publishing, on the same two cores. Where the time goes, "
            "per record, measured on an AMD EPYC of 2 cores (process CPU time over a run of "
            "100,000): parsing process about 83 µs, writing process (and relay) about 55, "
            "PostgreSQL about 49, NATS about 7; about 194 µs in all, so at most about 10,300 a "
            "second on two cores, and the run keeps them about 83% busy. "
            "Machine load: "
            f"`sum(range(1000))` took {calibration:.1f} µs (about 8 on an idle modern core; "
            "figures scale roughly inversely)."
        ),
    )


if __name__ == "__main__":
    asyncio.run(main())
