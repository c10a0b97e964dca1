"""Every query on reported figures."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cchc_plans.store.models import ReportedFigure
from cchc_plans.store.pagination import keyset


async def current(
    session: AsyncSession, target_id: uuid.UUID, period: str, org_unit_id: uuid.UUID
) -> ReportedFigure | None:
    """The figure in force for (target, period, org unit), locked: a correction replaces it."""
    stmt = (
        select(ReportedFigure)
        .where(
            ReportedFigure.target_id == target_id,
            ReportedFigure.period == period,
            ReportedFigure.org_unit_id == org_unit_id,
            ReportedFigure.superseded_by_id.is_(None),
        )
        .with_for_update()
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def figures_page(
    session: AsyncSession,
    target_id: uuid.UUID,
    *,
    include_superseded: bool,
    cursor: str | None,
    limit: int,
    org_unit_ids: Collection[uuid.UUID] | None = None,
) -> Sequence[ReportedFigure]:
    """A page of the target's figures; with ``org_unit_ids``, those of these units only."""
    stmt = select(ReportedFigure).where(ReportedFigure.target_id == target_id)
    if org_unit_ids is not None:
        stmt = stmt.where(ReportedFigure.org_unit_id.in_(org_unit_ids))
    if not include_superseded:
        stmt = stmt.where(ReportedFigure.superseded_by_id.is_(None))
    keys = [ReportedFigure.reported_at, ReportedFigure.id]
    return list((await session.execute(keyset(stmt, keys, cursor, limit))).scalars())
