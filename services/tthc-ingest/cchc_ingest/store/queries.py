"""Read-side queries behind the API: quarantine pages, one dossier, totals."""

from __future__ import annotations

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc_ingest.store.models import BackfillJob, OutboxEvent, QuarantinedRecord, StoredDossier


async def quarantine_page(
    conn: AsyncConnection, *, limit: int, after_id: int | None, kind: str | None
) -> list[RowMapping]:
    table = QuarantinedRecord.__table__
    query = select(table).order_by(table.c.id).limit(limit)
    if after_id is not None:
        query = query.where(table.c.id > after_id)
    if kind is not None:
        query = query.where(table.c.kind == kind)
    return list((await conn.execute(query)).mappings())


async def dossier(conn: AsyncConnection, code: str) -> RowMapping | None:
    table = StoredDossier.__table__
    return (await conn.execute(select(table).where(table.c.code == code))).mappings().one_or_none()


async def totals(conn: AsyncConnection) -> dict[str, int]:
    async def count(query: object) -> int:
        return int((await conn.execute(query)).scalar_one())  # type: ignore[call-overload]

    return {
        "dossiers": await count(select(func.count()).select_from(StoredDossier)),
        "quarantined_records": await count(select(func.count()).select_from(QuarantinedRecord)),
        "outbox_backlog": await count(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        ),
        "open_backfills": await count(
            select(func.count())
            .select_from(BackfillJob)
            .where(BackfillJob.status.in_(("pending", "running")))
        ),
    }
