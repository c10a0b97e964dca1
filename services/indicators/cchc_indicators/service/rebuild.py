"""``cchc indicators rebuild``: recompute every aggregate from the stored dossier facts.

The incremental path adds ``diff(before, after)`` per event; the rebuild sums the contributions
of each dossier's latest facts, set-wise in PostgreSQL (``store/rebuild.py``). Both give the same
totals (the property tests check it), so a rebuild repairs aggregates that a bug or a lost event
made wrong, and proves the incremental path right when nothing changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_indicators.store import aggregates
from cchc_indicators.store.models import DossierState
from cchc_indicators.store.rebuild import fill_aggregates
from cchc_indicators.store.state import bump_data_version


async def rebuild_aggregates(session: AsyncSession) -> int:
    """Empty and refill the aggregates in the caller's transaction; answer the dossier count.

    Consumers wait meanwhile (the dossier table is locked against writes), so no event is
    applied to aggregates that the rebuild is about to overwrite. The new epoch it leaves in
    ``service_state`` tells every process's read model to load the aggregates afresh.
    """
    table: Any = DossierState.__table__
    await session.execute(text(f"LOCK TABLE {table.fullname} IN EXCLUSIVE MODE"))
    await aggregates.truncate_aggregates(session)
    await fill_aggregates(session)
    await bump_data_version(session, new_epoch=True)
    count = await session.scalar(
        select(func.count()).select_from(DossierState).where(DossierState.facts.is_not(None))
    )
    return int(count or 0)
