"""The one-row ``service_state``: freshness (``as_of``) and the counters caches and ETags key on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.store.models import ServiceState

ROW_ID = 1


@dataclass(frozen=True, slots=True)
class Freshness:
    epoch: str
    as_of: datetime | None
    data_version: int
    reference_version: int
    evaluated_version: int


EMPTY = Freshness("", None, 0, 0, -1)


async def read_state(session: AsyncSession) -> Freshness:
    row = (
        await session.execute(select(ServiceState).where(ServiceState.id == ROW_ID))
    ).scalar_one_or_none()
    if row is None:
        return EMPTY
    return Freshness(
        str(row.epoch), row.as_of, row.data_version, row.reference_version, row.evaluated_version
    )


async def mark_applied(
    session: AsyncSession, latest_event_time: datetime, *, reference_changed: bool
) -> int:
    """Called in the consumer's transaction: the figures now reflect events up to this time.

    Answers the new ``data_version``. The row stays locked until the transaction ends, so
    consumer transactions take versions in commit order: the aggregate rows a transaction
    stamps with its version (``changed_version``) are committed before any larger version is,
    and a reader that sees ``data_version`` V sees every row stamped V or less.
    """
    bump = 1 if reference_changed else 0
    stmt = pg_insert(ServiceState).values(
        id=ROW_ID,
        as_of=latest_event_time,
        data_version=1,
        reference_version=bump,
        evaluated_version=-1,
    )
    table = ServiceState.__table__
    upsert = stmt.on_conflict_do_update(
        index_elements=[ServiceState.id],
        set_={
            "as_of": func.greatest(table.c.as_of, stmt.excluded.as_of),
            "data_version": table.c.data_version + 1,
            "reference_version": table.c.reference_version + bump,
        },
    ).returning(table.c.data_version)
    return int((await session.execute(upsert)).scalar_one())


async def bump_data_version(session: AsyncSession, *, new_epoch: bool = False) -> None:
    """After a rebuild: every cached answer and ETag must change. A new epoch also tells the
    read models (``service/read_model.py``) to reload rather than pull changed rows: the
    rebuild replaced every row, and dropped some."""
    table = ServiceState.__table__
    changes: dict[str, Any] = {
        "data_version": table.c.data_version + 1,
        "reference_version": table.c.reference_version + 1,
    }
    if new_epoch:
        changes["epoch"] = func.gen_random_uuid()
    await session.execute(
        pg_insert(ServiceState)
        .values(id=ROW_ID, data_version=1, reference_version=1, evaluated_version=-1)
        .on_conflict_do_update(index_elements=[ServiceState.id], set_=changes)
    )


async def mark_evaluated(session: AsyncSession, version: int) -> None:
    await session.execute(
        update(ServiceState).where(ServiceState.id == ROW_ID).values(evaluated_version=version)
    )
