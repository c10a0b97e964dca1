"""``cchc indicators rebuild``: recompute every aggregate from the stored dossier facts.

The incremental path adds ``diff(before, after)`` per event; the rebuild adds ``contributions``
of each dossier's latest facts. Both sum to the same totals (the property tests check it), so a
rebuild repairs aggregates that a bug or a lost event made wrong, and proves the incremental path
right when nothing changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.domain.aggregates import Contribution, contributions
from cchc_indicators.store import aggregates, dossiers
from cchc_indicators.store.models import DossierState
from cchc_indicators.store.state import bump_data_version

CHUNK = 50_000  # dossiers per COPY into staging: bounds memory whatever the province's size


async def rebuild_aggregates(session: AsyncSession) -> int:
    """Empty and refill the aggregates in the caller's transaction; answer the dossier count.

    Consumers wait meanwhile (the dossier table is locked against writes), so no event is
    applied to aggregates that the rebuild is about to overwrite.
    """
    table: Any = DossierState.__table__
    await session.execute(text(f"LOCK TABLE {table.fullname} IN EXCLUSIVE MODE"))
    await aggregates.truncate_aggregates(session)
    rows: list[Contribution] = []
    seen = in_chunk = 0
    async for facts in dossiers.stream_facts(session):
        rows.extend(contributions(facts))
        seen += 1
        in_chunk += 1
        if in_chunk == CHUNK:
            await aggregates.stage(session, aggregates.table_deltas(rows))
            rows, in_chunk = [], 0
    await aggregates.stage(session, aggregates.table_deltas(rows))
    await aggregates.merge_staged(session)
    await bump_data_version(session)
    return seen
