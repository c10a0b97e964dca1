"""The change-feed poller: one active per source (advisory lock), resuming from the position
committed with the last page it stored."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc_ingest.domain.instants import local_day_start, parse_day, parse_instant
from cchc_ingest.pipeline.backfill import create_job
from cchc_ingest.pipeline.records import PreparedPage
from cchc_ingest.pipeline.runtime import Runtime
from cchc_ingest.sources.lgsp import SourceRejected
from cchc_ingest.store import state
from cchc_ingest.store.dossiers import NOTHING, PageOutcome
from cchc_ingest.store.locks import check_alive, leadership
from cchc_ingest.store.state import FeedPosition

_log = structlog.get_logger(__name__)
# A record dated further ahead than this is a source's clock error: it must not move the poller
# past everything still to come.
FUTURE_TOLERANCE = timedelta(minutes=5)


def next_position(
    since: datetime, held: FeedPosition, page_cursor: str | None, newest: datetime | None
) -> FeedPosition:
    """Where to ask next: continue the source's cursor chain, or, when the chain ends, start a new
    one at the newest change seen (inclusive: records of that second come again, and change
    nothing)."""
    high = held.high_water
    if newest is not None:
        newest = min(newest, datetime.now(UTC) + FUTURE_TOLERANCE)
        high = newest if high is None else max(high, newest)
    if page_cursor:
        return FeedPosition(since, page_cursor, high)
    return FeedPosition(high or since, None, high)


def first_start(poll_from: str, now: datetime) -> tuple[datetime, bool]:
    """Where a poller with no position starts, and whether history is to be backfilled first."""
    spec = poll_from.strip()
    if not spec:
        return now, True
    if spec.lower() == "now":
        return now, False
    start = parse_instant(spec) if len(spec) != 8 else None
    if start is None:
        day = parse_day(spec)
        assert day is not None
        start = local_day_start(day)
    return start, False


class Poller:
    def __init__(
        self, runtime: Runtime, *, interval: float, poll_from: str = "now", backfill_days: int = 0
    ) -> None:
        self.rt = runtime
        self.interval = interval
        self.poll_from = poll_from
        self.backfill_days = backfill_days
        self.start = datetime.now(UTC)
        self.lock_name = f"cchc_ingest.poller:{runtime.source.name}"

    async def ensure_position(self) -> None:
        """The first time a source is polled, fix where it starts (and queue the history)."""
        name = self.rt.source.name
        async with self.rt.engine.begin() as conn:
            held = await state.position(conn, name)
            if held is not None and held.feed_from is not None:
                self.start = held.feed_from
                return
            self.start, backfill = first_start(self.poll_from, datetime.now(UTC))
            await state.record_page(
                conn, name, NOTHING, position=FeedPosition(self.start, None, None)
            )
            if backfill and self.backfill_days > 0:
                await create_job(
                    conn, name, self.start - timedelta(days=self.backfill_days), self.start
                )
                _log.info("history backfill queued", source=name, days=self.backfill_days)

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                async with leadership(self.rt.engine, self.lock_name) as lock_conn:
                    _log.info("poller leading", source=self.rt.source.name)
                    await self.ensure_position()
                    while True:
                        more = await self.poll_once()
                        failures = 0
                        if not more:
                            await check_alive(lock_conn)
                            await asyncio.sleep(self.interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                _log.warning("poll failed", source=self.rt.source.name, error=repr(exc))
                await self._record_error(repr(exc))
                await asyncio.sleep(min(60.0, random.uniform(0.5, 1.0) * 2 ** min(failures, 6)))

    async def poll_once(self) -> bool:
        """Read and store one page; answer whether the source has more right away."""
        name = self.rt.source.name
        async with self.rt.engine.connect() as conn:
            held = await state.position(conn, name) or FeedPosition(self.start, None, None)
        since = held.feed_from or self.start
        try:
            page = await self.rt.source.changes(since, held.cursor, self.rt.page_size)
        except SourceRejected:
            if not held.cursor:
                raise
            # A cursor the source no longer knows: start a new chain where we stood.
            _log.warning(
                "source refused our cursor; restarting at the high-water mark", source=name
            )
            async with self.rt.engine.begin() as conn:
                await state.reset_cursor(conn, name, held.high_water or since)
            return True

        async def bookkeeping(
            conn: AsyncConnection, prepared: PreparedPage, outcome: PageOutcome
        ) -> None:
            position = next_position(since, held, page.next_cursor, prepared.max_updated_at)
            await state.record_page(conn, name, outcome, position=position, polled=True)

        await self.rt.store_records(page.records, bookkeeping)
        return page.more and page.next_cursor is not None

    async def _record_error(self, message: str) -> None:
        try:
            async with self.rt.engine.begin() as conn:
                await state.record_error(conn, self.rt.source.name, message)
        except Exception as exc:  # the database itself is down: the log has it
            _log.warning("could not record the poll error", error=repr(exc))
