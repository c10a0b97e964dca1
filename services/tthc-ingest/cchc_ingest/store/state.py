"""Per-source position and counters (``ingest.source_state``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc_ingest.store.dossiers import PageOutcome
from cchc_ingest.store.models import SourceState

_UNSET = object()


@dataclass(frozen=True, slots=True)
class FeedPosition:
    feed_from: datetime | None
    cursor: str | None
    high_water: datetime | None


async def position(conn: AsyncConnection, source: str) -> FeedPosition | None:
    row = (
        await conn.execute(
            select(SourceState.feed_from, SourceState.feed_cursor, SourceState.high_water).where(
                SourceState.source == source
            )
        )
    ).one_or_none()
    return FeedPosition(row.feed_from, row.feed_cursor, row.high_water) if row else None


async def record_page(
    conn: AsyncConnection,
    source: str,
    outcome: PageOutcome,
    *,
    position: FeedPosition | None = None,
    polled: bool = False,
) -> None:
    """Add a page's counts; with ``position``, move the feed position in the same transaction."""
    counts = {
        "records_taken": outcome.taken,
        "stored": outcome.stored,
        "duplicates_skipped": outcome.duplicates,
        "quarantined": outcome.quarantined,
    }
    values: dict[str, object] = dict(counts)
    if position is not None:
        values |= {
            "feed_from": position.feed_from,
            "feed_cursor": position.cursor,
            "high_water": position.high_water,
        }
    if polled:
        values |= {"last_poll_at": func.now(), "last_success_at": func.now()}
    table = SourceState.__table__
    stmt = insert(SourceState).values(source=source, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[SourceState.source],
        set_={
            **{k: getattr(table.c, k) + getattr(stmt.excluded, k) for k in counts},
            **{k: getattr(stmt.excluded, k) for k in values if k not in counts},
        },
    )
    await conn.execute(stmt)


async def record_error(conn: AsyncConnection, source: str, message: str) -> None:
    stmt = insert(SourceState).values(
        source=source,
        errors=1,
        last_error=message[:2000],
        last_error_at=func.now(),
        last_poll_at=func.now(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[SourceState.source],
        set_={
            "errors": SourceState.__table__.c.errors + 1,
            "last_error": stmt.excluded.last_error,
            "last_error_at": stmt.excluded.last_error_at,
            "last_poll_at": stmt.excluded.last_poll_at,
        },
    )
    await conn.execute(stmt)


async def mark_catalogue_synced(conn: AsyncConnection, source: str) -> None:
    stmt = insert(SourceState).values(source=source, catalogue_synced_at=func.now())
    stmt = stmt.on_conflict_do_update(
        index_elements=[SourceState.source], set_={"catalogue_synced_at": func.now()}
    )
    await conn.execute(stmt)


async def all_states(conn: AsyncConnection) -> list[RowMapping]:
    table = SourceState.__table__
    return list((await conn.execute(select(table).order_by(table.c.source))).mappings())


async def reset_cursor(conn: AsyncConnection, source: str, feed_from: datetime) -> None:
    await conn.execute(
        update(SourceState)
        .where(SourceState.source == source)
        .values(feed_from=feed_from, feed_cursor=None)
    )
