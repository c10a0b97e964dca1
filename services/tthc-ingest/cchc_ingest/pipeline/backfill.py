"""Backfill: re-read a time range of the change feed, resumable after a crash.

A job's range is cut into local days, read as separate cursor chains, newest day first, a few at
a time. Newest first because the feed carries every version of a dossier: once the latest is
stored, the older versions met later change nothing, so they cost neither a row write nor an
event, yet each is still read, so a malformed one is still quarantined.
"""

from __future__ import annotations

import asyncio
import functools
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc_ingest.domain.instants import local_date, local_day_start
from cchc_ingest.pipeline.records import PreparedPage
from cchc_ingest.pipeline.runtime import Runtime
from cchc_ingest.sources.base import FeedPage
from cchc_ingest.sources.lgsp import SourceRejected
from cchc_ingest.store import jobs, state
from cchc_ingest.store.dossiers import PageOutcome
from cchc_ingest.store.jobs import Slice
from cchc_ingest.store.locks import try_lock

_log = structlog.get_logger(__name__)
DAY = timedelta(days=1)


MAX_SLICES = 800


def plan_slices(
    range_from: datetime, range_to: datetime | None
) -> list[tuple[datetime, datetime | None]]:
    """Slices of whole local days covering [range_from, range_to), the last one open when
    range_to is. One day each, or several when the range is longer than ``MAX_SLICES`` days."""
    end = range_to or datetime.now(UTC)
    days_per_slice = max(1, -(-(end - range_from).days // MAX_SLICES))
    slices: list[tuple[datetime, datetime | None]] = []
    start = range_from
    while True:
        next_start = local_day_start(local_date(start) + DAY * days_per_slice)
        if next_start >= end:
            slices.append((start, range_to))
            return slices
        slices.append((start, next_start))
        start = next_start


async def create_job(
    conn: AsyncConnection,
    source: str,
    range_from: datetime,
    range_to: datetime | None,
    *,
    kind: str = "backfill",
    slices: Sequence[tuple[datetime, datetime | None]] | None = None,
) -> uuid.UUID:
    return await jobs.create(
        conn,
        kind=kind,
        source=source,
        range_from=range_from,
        range_to=range_to,
        slices=slices if slices is not None else plan_slices(range_from, range_to),
    )


def progress(slices: Sequence[Slice]) -> float:
    """Share of the job's range read, from 0 to 1."""
    if not slices:
        return 1.0
    now = datetime.now(UTC)
    total = 0.0
    for s in slices:
        if s.done:
            total += 1
        elif s.position is not None:
            end = s.range_to or now
            span = (end - s.range_from).total_seconds()
            read = (s.position - s.range_from).total_seconds()
            total += min(1.0, max(0.0, read / span)) if span > 0 else 0.0
    return total / len(slices)


class JobFailed(Exception):
    """The source refuses this job's requests for good."""


class BackfillRunner:
    def __init__(self, runtime: Runtime, *, idle: float = 1.0) -> None:
        self.rt = runtime
        self.idle = idle

    async def run(self) -> None:
        """Run open jobs one after another, for ever; jobs left open by a crash are resumed."""
        failures = 0
        while True:
            try:
                async with self.rt.engine.connect() as conn:
                    open_ids = await jobs.open_job_ids(conn, self.rt.source.name)
                for job_id in open_ids:
                    await self.run_job(job_id)
                failures = 0
                await asyncio.sleep(self.idle)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                _log.warning("backfill interrupted", error=repr(exc))
                await asyncio.sleep(min(60.0, random.uniform(0.5, 1.0) * 2 ** min(failures, 6)))

    async def run_job(self, job_id: uuid.UUID) -> bool:
        """Run a job to its end; False if another process is running it."""
        async with try_lock(self.rt.engine, f"cchc_ingest.backfill:{job_id}") as held:
            if held is None:
                return False
            async with self.rt.engine.begin() as conn:
                job = await jobs.get(conn, job_id)
                if job is None or job["status"] not in jobs.OPEN_STATUSES:
                    return True
                await jobs.mark_running(conn, job_id)
                pending = [s for s in await jobs.slices(conn, job_id) if not s.done]
            pending.sort(key=lambda s: s.range_from, reverse=True)  # newest first
            try:
                await self._run_slices(job_id, pending)
            except JobFailed as exc:
                async with self.rt.engine.begin() as conn:
                    await jobs.finish(conn, job_id, error=str(exc))
                return True
            async with self.rt.engine.begin() as conn:
                await jobs.finish(conn, job_id)
            _log.info("backfill done", job=str(job_id))
            return True

    async def _run_slices(self, job_id: uuid.UUID, pending: list[Slice]) -> None:
        queue = iter(pending)

        async def worker() -> None:
            for item in queue:
                await self._run_slice(job_id, item)

        workers = [asyncio.create_task(worker()) for _ in range(max(1, self.rt.concurrency))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _run_slice(self, job_id: uuid.UUID, item: Slice) -> None:
        since, cursor = item.range_from, item.cursor
        read = _SliceRead(position=item.position)
        if cursor is None and read.position is not None:
            since = read.position  # resumed without a cursor: from what we had read (inclusive)
        while not read.done:
            size = read.next_page_size(item.range_to, self.rt.page_size)
            try:
                page = await self.rt.source.changes(since, cursor, size)
            except SourceRejected as exc:
                if cursor is None:
                    raise JobFailed(str(exc)) from exc
                since, cursor = read.position or since, None  # the source forgot our cursor
                continue
            await self.rt.store_records(
                page.records,
                functools.partial(self._bookkeeping, job_id, item, page, read),
                until=item.range_to,
            )
            cursor = page.next_cursor

    async def _bookkeeping(
        self,
        job_id: uuid.UUID,
        item: Slice,
        page: FeedPage,
        read: _SliceRead,
        conn: AsyncConnection,
        prepared: PreparedPage,
        outcome: PageOutcome,
    ) -> None:
        """Move the slice forward in the transaction that stored the page it read."""
        read.learn(prepared)
        end = item.range_to
        past_end = end is not None and read.position is not None and read.position >= end
        read.done = past_end or not page.more or page.next_cursor is None
        await jobs.record_slice_page(
            conn,
            job_id,
            item.index,
            cursor=page.next_cursor,
            position=read.position,
            done=read.done,
            outcome=outcome,
        )
        await state.record_page(conn, self.rt.source.name, outcome)


FIRST_PAGE = 100  # a slice may be empty: its first page would be all past its end


@dataclass(slots=True)
class _SliceRead:
    """How far a slice has read, and how dense its changes are (to size the next page)."""

    position: datetime | None
    done: bool = False
    per_second: float | None = None

    def learn(self, prepared: PreparedPage) -> None:
        newest, oldest = prepared.max_updated_at, prepared.min_updated_at
        if newest is not None and (self.position is None or newest > self.position):
            self.position = newest
        if newest is not None and oldest is not None and newest > oldest:
            seen = prepared.taken - prepared.beyond
            self.per_second = seen / (newest - oldest).total_seconds()

    def next_page_size(self, end: datetime | None, page_size: int) -> int:
        """A full page, unless the slice's end is near: then about what is left before it (the
        records past the end are read again by the next slice's reader, so they are waste)."""
        if self.per_second is None:
            return min(page_size, FIRST_PAGE)
        if end is None or self.position is None:
            return page_size
        left = (end - self.position).total_seconds() * self.per_second
        return max(FIRST_PAGE // 2, min(page_size, int(left * 1.25) + 20))
