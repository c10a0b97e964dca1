"""Reconciliation runs and their findings (``ingest.reconciliation_runs``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import RowMapping, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc_ingest.store.models import ReconciliationRun

OPEN_STATUSES = ("pending", "rereading")


async def create(conn: AsyncConnection, day_from: date, day_to: date) -> uuid.UUID:
    run_id = uuid.uuid4()
    await conn.execute(
        insert(ReconciliationRun).values(
            id=run_id, day_from=day_from, day_to=day_to, status="pending", findings=[]
        )
    )
    return run_id


async def get(conn: AsyncConnection, run_id: uuid.UUID) -> RowMapping | None:
    table = ReconciliationRun.__table__
    return (await conn.execute(select(table).where(table.c.id == run_id))).mappings().one_or_none()


async def listing(
    conn: AsyncConnection, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[RowMapping]:
    table = ReconciliationRun.__table__
    query = select(table).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(func.row(table.c.created_at, table.c.id) < func.row(*before))
    return list((await conn.execute(query)).mappings())


async def open_run_ids(conn: AsyncConnection) -> list[uuid.UUID]:
    rows = await conn.execute(
        select(ReconciliationRun.id)
        .where(ReconciliationRun.status.in_(OPEN_STATUSES))
        .order_by(ReconciliationRun.created_at)
    )
    return list(rows.scalars())


async def last_created(conn: AsyncConnection) -> datetime | None:
    return (await conn.execute(select(func.max(ReconciliationRun.created_at)))).scalar()


async def update_run(conn: AsyncConnection, run_id: uuid.UUID, **values: Any) -> None:
    if values.get("status") in ("done", "failed"):
        values["finished_at"] = func.now()
    await conn.execute(
        update(ReconciliationRun).where(ReconciliationRun.id == run_id).values(**values)
    )
