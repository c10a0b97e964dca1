"""Backfill jobs and their slices (``ingest.backfill_jobs``, ``ingest.backfill_chunks``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import RowMapping, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc_ingest.store.dossiers import PageOutcome
from cchc_ingest.store.models import BackfillChunk, BackfillJob

OPEN_STATUSES = ("pending", "running")


@dataclass(frozen=True, slots=True)
class Slice:
    index: int
    range_from: datetime
    range_to: datetime | None
    cursor: str | None
    position: datetime | None
    done: bool


async def create(
    conn: AsyncConnection,
    *,
    kind: str,
    source: str,
    range_from: datetime,
    range_to: datetime | None,
    slices: Sequence[tuple[datetime, datetime | None]],
) -> uuid.UUID:
    job_id = uuid.uuid4()
    await conn.execute(
        insert(BackfillJob).values(
            id=job_id,
            kind=kind,
            source=source,
            range_from=range_from,
            range_to=range_to,
            status="pending",
        )
    )
    await conn.execute(
        insert(BackfillChunk),
        [
            {"job_id": job_id, "index": i, "range_from": start, "range_to": end}
            for i, (start, end) in enumerate(slices)
        ],
    )
    return job_id


async def get(conn: AsyncConnection, job_id: uuid.UUID) -> RowMapping | None:
    table = BackfillJob.__table__
    return (await conn.execute(select(table).where(table.c.id == job_id))).mappings().one_or_none()


async def listing(
    conn: AsyncConnection, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[RowMapping]:
    """Newest first; ``before`` is the (created_at, id) of the last row of the previous page."""
    table = BackfillJob.__table__
    query = select(table).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(
            func.row(table.c.created_at, table.c.id) < func.row(before[0], before[1])
        )
    return list((await conn.execute(query)).mappings())


async def slices(conn: AsyncConnection, job_id: uuid.UUID) -> list[Slice]:
    rows = await conn.execute(
        select(
            BackfillChunk.index,
            BackfillChunk.range_from,
            BackfillChunk.range_to,
            BackfillChunk.cursor,
            BackfillChunk.position,
            BackfillChunk.done,
        )
        .where(BackfillChunk.job_id == job_id)
        .order_by(BackfillChunk.index)
    )
    return [Slice(*row) for row in rows]


async def open_job_ids(conn: AsyncConnection, source: str) -> list[uuid.UUID]:
    rows = await conn.execute(
        select(BackfillJob.id)
        .where(BackfillJob.status.in_(OPEN_STATUSES), BackfillJob.source == source)
        .order_by(BackfillJob.created_at)
    )
    return list(rows.scalars())


async def mark_running(conn: AsyncConnection, job_id: uuid.UUID) -> None:
    await conn.execute(
        update(BackfillJob)
        .where(BackfillJob.id == job_id, BackfillJob.status == "pending")
        .values(status="running", started_at=func.now())
    )


async def finish(conn: AsyncConnection, job_id: uuid.UUID, *, error: str | None = None) -> None:
    await conn.execute(
        update(BackfillJob)
        .where(BackfillJob.id == job_id)
        .values(status="failed" if error else "done", error=error, finished_at=func.now())
    )


async def record_slice_page(
    conn: AsyncConnection,
    job_id: uuid.UUID,
    index: int,
    *,
    cursor: str | None,
    position: datetime | None,
    done: bool,
    outcome: PageOutcome,
) -> None:
    """Move a slice forward, in the transaction that stored the page it covers."""
    await conn.execute(
        update(BackfillChunk)
        .where(BackfillChunk.job_id == job_id, BackfillChunk.index == index)
        .values(cursor=cursor, position=position, done=done, pages=BackfillChunk.pages + 1)
    )
    await conn.execute(
        update(BackfillJob)
        .where(BackfillJob.id == job_id)
        .values(
            records_taken=BackfillJob.records_taken + outcome.taken,
            stored=BackfillJob.stored + outcome.stored,
            duplicates_skipped=BackfillJob.duplicates_skipped + outcome.duplicates,
            quarantined=BackfillJob.quarantined + outcome.quarantined,
        )
    )
